// Every unsafe block here calls the heap under test with blocks it handed out, over a buffer the
// test owns: the contract is what the tests check, not something to argue block by block.
#![allow(clippy::undocumented_unsafe_blocks)]

use super::*;

/// A buffer standing in for wasm memory: `limit` pages, of which the heap has been given `pages`
/// (from `first`, page-aligned); the heap starts at `base`.
struct Buffer {
    first: usize,
    base: usize,
    pages: usize,
    limit: usize,
    _bytes: Vec<u8>,
}

impl Buffer {
    fn new(limit: usize) -> Buffer {
        let bytes = vec![0u8; (limit + 1) * PAGE];
        let first = (bytes.as_ptr() as usize).next_multiple_of(PAGE);
        Buffer { first, base: first, pages: 0, limit, _bytes: bytes }
    }

    /// As wasm memory is when the module starts: a page there, static data in its first `used`
    /// bytes.
    fn after_static_data(mut self, used: usize) -> Buffer {
        self.pages = 1;
        self.base = self.first + used;
        self
    }
}

impl Memory for Buffer {
    fn base(&self) -> usize {
        self.base
    }
    fn top(&self) -> usize {
        self.first + self.pages * PAGE
    }
    fn grow(&mut self, pages: usize) -> bool {
        if self.pages + pages > self.limit {
            return false;
        }
        self.pages += pages;
        true
    }
}

fn layout(size: usize, align: usize) -> Layout {
    Layout::from_size_align(size, align).unwrap()
}

/// xorshift64*: the workload's sizes and choices, the same in every run.
struct Rng(u64);
impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n
    }
}

#[test]
fn blocks_are_the_size_rounded_up_to_a_power_of_two() {
    let blocks: Vec<usize> =
        [1, 7, 8, 9, 16, 17, 600, 1024, 1025].iter().map(|&n| block(class(layout(n, 1)))).collect();
    assert_eq!(blocks, [8, 8, 8, 16, 16, 32, 1024, 1024, 2048]);
    // The alignment counts as size (a block is aligned to it when it is cut from the end).
    assert_eq!(block(class(layout(4, 64))), 64);
}

/// Blocks live at once never overlap (each is filled with its own byte and checked when freed),
/// each is aligned and inside the memory, and memory grows only when no freed block of the size
/// class is left: what the heap has taken is exactly each class's peak number of live blocks
/// times the class's size. Blocks are allocated, resized and freed in a random order.
#[test]
fn freed_blocks_are_reused_before_memory_grows() {
    let mut heap = Heap::new(Buffer::new(512).after_static_data(1000));
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut live: Vec<(*mut u8, Layout, u8)> = Vec::new();
    let mut count = [0usize; CLASSES];
    let mut peak = [0usize; CLASSES];
    for step in 0..200_000u32 {
        // Allocations outnumber frees until about 3,000 blocks are live, then the other way.
        let roll = rng.below(100);
        if live.is_empty() || roll < if live.len() < 3_000 { 55 } else { 35 } {
            let size = match rng.below(10) {
                0 => 1 + rng.below(20_000) as usize,
                _ => 1 + rng.below(700) as usize,
            };
            let l = layout(size, 1 << rng.below(4));
            let p = unsafe { heap.alloc(l) };
            assert!(!p.is_null(), "step {step}: out of memory");
            let at = p as usize;
            assert_eq!(at % l.align(), 0);
            assert!(at >= heap.memory.base && at + size <= heap.memory.top());
            let fill = step as u8;
            unsafe { p.write_bytes(fill, size) };
            live.push((p, l, fill));
            let c = class(l);
            count[c] += 1;
            peak[c] = peak[c].max(count[c]);
        } else if roll >= 85 {
            // A block resized: the contents it had up to the new size stay, the rest is its own.
            let i = rng.below(live.len() as u64) as usize;
            let (p, l, fill) = live[i];
            let size = 1 + rng.below(3_000) as usize;
            let q = unsafe { heap.realloc(p, l, size) };
            assert!(!q.is_null(), "step {step}: out of memory");
            let kept = unsafe { std::slice::from_raw_parts(q, size.min(l.size())) };
            assert!(kept.iter().all(|&b| b == fill), "step {step}: contents lost in realloc");
            unsafe { q.write_bytes(fill, size) };
            let n = layout(size, l.align());
            live[i] = (q, n, fill);
            let (from, to) = (class(l), class(n));
            if from != to {
                count[to] += 1;
                peak[to] = peak[to].max(count[to]);
                count[from] -= 1;
            }
        } else {
            let (p, l, fill) = live.swap_remove(rng.below(live.len() as u64) as usize);
            let bytes = unsafe { std::slice::from_raw_parts(p, l.size()) };
            assert!(bytes.iter().all(|&b| b == fill), "step {step}: a block was overwritten");
            unsafe { heap.dealloc(p, l) };
            count[class(l)] -= 1;
        }
        let taken: usize = peak.iter().enumerate().map(|(c, n)| n * block(c)).sum();
        assert_eq!(heap.next - heap.memory.base, taken, "step {step}");
    }
    assert!(live.len() > 1000, "the workload keeps many blocks live");
}

#[test]
fn realloc_keeps_the_block_within_its_class_and_the_contents_across() {
    let mut heap = Heap::new(Buffer::new(4));
    unsafe {
        let l = layout(10, 4);
        let p = heap.alloc(l);
        p.copy_from_nonoverlapping(b"0123456789".as_ptr(), 10);
        assert_eq!(heap.realloc(p, l, 16), p, "10 and 16 bytes are both 16-byte blocks");
        let q = heap.realloc(p, layout(16, 4), 100);
        assert_ne!(q, p);
        assert_eq!(std::slice::from_raw_parts(q, 10), b"0123456789");
        // The old block went back on its list: the next 16-byte request gets it.
        assert_eq!(heap.alloc(layout(12, 8)), p);
        // Shrinking to another class copies the prefix that fits.
        let r = heap.realloc(q, layout(100, 4), 3);
        assert_eq!(std::slice::from_raw_parts(r, 3), b"012");
    }
}

#[test]
fn stricter_alignments_get_aligned_blocks() {
    let mut heap = Heap::new(Buffer::new(4));
    unsafe {
        let small = heap.alloc(layout(8, 8));
        for align in [16, 64, 4096] {
            let p = heap.alloc(layout(24, align));
            assert_eq!(p as usize % align, 0, "align {align}");
        }
        // A freed block is 8-aligned only, so a 16-aligned request of its class gets a new one,
        let l = layout(32, 8);
        let p = heap.alloc(l);
        heap.dealloc(p, l);
        let q = heap.alloc(layout(32, 16));
        assert_eq!(q as usize % 16, 0);
        // while an 8-aligned one reuses it.
        assert_eq!(heap.alloc(l), p);
        heap.dealloc(small, layout(8, 8));
    }
}

#[test]
fn memory_that_cannot_grow_gives_null_and_the_heap_stays_usable() {
    let mut heap = Heap::new(Buffer::new(1));
    unsafe {
        assert!(heap.alloc(layout(2 * PAGE, 8)).is_null());
        let q = heap.alloc(layout(100, 8));
        q.write_bytes(7, 100);
        let l = layout(PAGE / 2, 8);
        let p = heap.alloc(l);
        assert!(!p.is_null());
        assert!(heap.alloc(l).is_null(), "one page, and half of it is taken");
        heap.dealloc(p, l);
        assert_eq!(heap.alloc(l), p);
        // realloc keeps the block when there is no room for the new one,
        assert!(heap.realloc(q, layout(100, 8), PAGE).is_null());
        assert_eq!(std::slice::from_raw_parts(q, 100), [7; 100]);
        // an address space this large cannot be had: null, not an overflow,
        assert!(heap.alloc(layout(isize::MAX as usize - 7, 8)).is_null());
        // and smaller blocks still come from what is left of the page.
        assert!(!heap.alloc(layout(8, 8)).is_null());
    }
}

#[test]
fn the_memory_above_static_data_is_used_before_memory_grows() {
    let mut heap = Heap::new(Buffer::new(4).after_static_data(40_000));
    let base = heap.memory.base;
    unsafe {
        let l = layout(16_384, 8);
        assert_eq!(heap.alloc(l) as usize, base);
        assert_eq!(heap.memory.pages, 1, "the first page had room");
        assert_eq!(heap.alloc(l) as usize, base + 16_384, "blocks follow each other across pages");
        assert_eq!(heap.memory.pages, 2);
    }
}
