//! The SDK's wasm allocator: every block is a power of two bytes (8 bytes and up), each size
//! has one list of freed blocks, and new blocks are cut from the end of memory, which grows a
//! page (64 KiB) at a time.
//!
//! Why not the standard library's dlmalloc or talc (which the SDK used before): a page's SDK
//! makes a few thousand short allocations of a few sizes (an event's text, its properties, the
//! queue's `Vec`s), frees them within the batch that sends them, and makes the same ones again.
//! For that a size class per power of two is enough: allocation and free are a list push or pop
//! (no search, no splitting or merging), and the allocator is under 0.5 KB of wasm instead of
//! talc's 1.6 KB (−446 bytes gzip for the SDK; BENCHMARKS.md).
//!
//! What it costs: a block is up to twice its request (a 600-byte event text takes a 1 KiB block),
//! and a freed block only serves requests of its own size class, so memory is the sum of each
//! class's peak: bench/browser measured 0.81 MB of wasm memory after 10,000 three-item events
//! (talc: 0.63–0.88) and 1.31 MB after 20,000 (talc: 1.06). Over a long session it is the other
//! way round, as talc's free space fragments (`bench/browser/soak.mjs`: 2.13 MB against 2.63
//! after 400,000 calls, measured while the session's order list still grew with every purchase;
//! since it is bounded, 1.88 MB from start to end). Memory is never given back to the page (wasm memory cannot shrink), as
//! with every wasm allocator.
//!
//! This crate is the only one in the workspace with `unsafe` code: a global allocator cannot be
//! written without it. [`Heap`] is the whole algorithm, generic over where its memory comes from,
//! so the tests run it natively over a buffer ([`Memory`]); `WasmAllocator` (wasm only) is the global
//! allocator the SDK installs on wasm.
#![deny(missing_docs)]
#![cfg_attr(not(test), no_std)]

use core::alloc::Layout;

/// Bytes in a wasm memory page.
pub const PAGE: usize = 65_536;

/// The smallest block: a freed block holds the address of the next freed block of its size, and
/// every block is 8-byte aligned (the largest alignment Rust types need on wasm32 but `u128`'s).
const MIN_BLOCK: usize = 8;

/// Where a [`Heap`] gets its memory: a region that only grows at its end.
pub trait Memory {
    /// The first address the heap may use.
    fn base(&self) -> usize;
    /// The address just past the memory there is today.
    fn top(&self) -> usize;
    /// Adds `pages` pages after [`Memory::top`]; `false` if the memory cannot grow.
    fn grow(&mut self, pages: usize) -> bool;
}

/// The size-class heap: one free list per power of two, and the unused end of memory.
pub struct Heap<M> {
    /// The first freed block of each size class (`0`: none); each freed block's first word is
    /// the next one's address.
    free: [usize; CLASSES],
    /// Where the next new block starts (`0` until the first allocation).
    next: usize,
    /// The end of the memory the heap has (`0` until the first allocation).
    end: usize,
    memory: M,
}

/// Free lists: one per size class.
const CLASSES: usize = usize::BITS as usize;

/// The size class of `layout`: the block is `1 << class` bytes, at least the size, the alignment
/// and [`MIN_BLOCK`]. A `Layout`'s size is at most `isize::MAX`, so the class fits the free lists.
#[inline]
fn class(layout: Layout) -> usize {
    let n = layout.size().max(layout.align()).max(MIN_BLOCK);
    (usize::BITS - (n - 1).leading_zeros()) as usize
}

/// The bytes of a block of size class `c`.
#[inline]
fn block(c: usize) -> usize {
    1 << c
}

impl<M: Memory> Heap<M> {
    /// An empty heap over `memory`; it takes memory from `memory.base()` on at the first allocation.
    pub const fn new(memory: M) -> Heap<M> {
        Heap { free: [0; CLASSES], next: 0, end: 0, memory }
    }

    /// A block for `layout`, or null when memory cannot grow.
    ///
    /// # Safety
    ///
    /// The contract of [`core::alloc::GlobalAlloc::alloc`] (`layout` has a non-zero size), and
    /// the heap is the only user of the memory from where it started.
    pub unsafe fn alloc(&mut self, layout: Layout) -> *mut u8 {
        let c = class(layout);
        let head = self.free[c];
        // Every block starts at a multiple of MIN_BLOCK; a stricter alignment gets a new block.
        if head != 0 && layout.align() <= MIN_BLOCK {
            // SAFETY: `head` is a freed block of this class (see `dealloc`), at least
            // MIN_BLOCK bytes and aligned for a usize; its first word is the list's next link.
            self.free[c] = unsafe { *(head as *const usize) };
            return head as *mut u8;
        }
        if self.end == 0 {
            self.next = self.memory.base();
            self.end = self.memory.top();
        }
        let align = layout.align().max(MIN_BLOCK);
        let Some(stop) =
            (self.next.checked_add(align - 1)).map(|n| n & !(align - 1)).and_then(|start| start.checked_add(block(c)))
        else {
            return core::ptr::null_mut();
        };
        if stop > self.end {
            let pages = (stop - self.end).div_ceil(PAGE);
            if !self.memory.grow(pages) {
                return core::ptr::null_mut();
            }
            self.end += pages * PAGE;
        }
        self.next = stop;
        (stop - block(c)) as *mut u8
    }

    /// Puts the block at `ptr` on its size class's free list.
    ///
    /// # Safety
    ///
    /// `ptr` came from this heap's [`Heap::alloc`] or [`Heap::realloc`] with `layout`, and is not
    /// used after this call.
    pub unsafe fn dealloc(&mut self, ptr: *mut u8, layout: Layout) {
        let c = class(layout);
        // SAFETY: the block is at least MIN_BLOCK bytes, 8-aligned, and no longer in use.
        unsafe { *(ptr as *mut usize) = self.free[c] };
        self.free[c] = ptr as usize;
    }

    /// The block at `ptr` resized to `new_size`: the same block while the size class is the same,
    /// else a new one with the contents copied and the old one freed. Null (the old block kept)
    /// when memory cannot grow.
    ///
    /// # Safety
    ///
    /// The contract of [`core::alloc::GlobalAlloc::realloc`].
    pub unsafe fn realloc(&mut self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller guarantees `new_size` with this alignment is a valid layout.
        let new = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        if class(new) == class(layout) {
            return ptr;
        }
        // SAFETY: `new` has a non-zero size (the caller's contract).
        let p = unsafe { self.alloc(new) };
        if !p.is_null() {
            // SAFETY: both blocks hold at least the smaller size, and are distinct (`ptr` is in
            // use, so it is on no free list and below `next`).
            unsafe {
                core::ptr::copy_nonoverlapping(ptr, p, layout.size().min(new_size));
                self.dealloc(ptr, layout);
            }
        }
        p
    }
}

/// The wasm module's own memory (memory 0), grown with `memory.grow`.
#[cfg(target_arch = "wasm32")]
pub struct WasmMemory;

#[cfg(target_arch = "wasm32")]
impl Memory for WasmMemory {
    /// Where the linker put the end of the stack and static data (`__heap_base`).
    fn base(&self) -> usize {
        extern "C" {
            static __heap_base: u8;
        }
        // Only the symbol's address is taken (safe); wasm-ld defines it for every module.
        core::ptr::addr_of!(__heap_base) as usize
    }
    fn top(&self) -> usize {
        core::arch::wasm32::memory_size(0) * PAGE
    }
    fn grow(&mut self, pages: usize) -> bool {
        core::arch::wasm32::memory_grow(0, pages) != usize::MAX
    }
}

/// The global allocator for single-threaded wasm: a [`Heap`] over the module's memory from where
/// the linker put the end of the stack and static data.
///
/// ```ignore
/// #[global_allocator]
/// static ALLOCATOR: funnelcake_alloc::WasmAllocator = funnelcake_alloc::WasmAllocator::new();
/// ```
#[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
pub struct WasmAllocator(core::cell::UnsafeCell<Heap<WasmMemory>>);

#[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
impl WasmAllocator {
    /// The allocator, empty until the first allocation.
    #[allow(clippy::new_without_default)]
    pub const fn new() -> WasmAllocator {
        WasmAllocator(core::cell::UnsafeCell::new(Heap::new(WasmMemory)))
    }
}

// SAFETY: without the atomics feature a wasm module has one thread, so the heap is never used
// from two threads at once; and an allocator call never calls back into the allocator.
#[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
unsafe impl Sync for WasmAllocator {}

// SAFETY: `Heap` hands out distinct blocks of at least the layout's size and alignment (see its
// methods); each call has the heap to itself (above).
#[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
unsafe impl core::alloc::GlobalAlloc for WasmAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: single-threaded and not re-entered (the `Sync` impl), the caller's contract.
        unsafe { (*self.0.get()).alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as in `alloc`.
        unsafe { (*self.0.get()).dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as in `alloc`.
        unsafe { (*self.0.get()).realloc(ptr, layout, new_size) }
    }
}

#[cfg(test)]
mod tests;
