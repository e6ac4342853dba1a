// Cakewalk Outfitters: the demo storefront. Like a shop run through Google Tag Manager, it knows
// nothing of funnelcake: it pushes GA4 e-commerce events to window.dataLayer (clearing
// `ecommerce` before each, as Google recommends) and the one funnelcake script tag captures them.
// The one exception is the A/B test on the cart page, which asks funnelcake for a variation.
(function () {
  'use strict';
  var CURRENCY = 'USD';
  var CART_KEY = 'cakewalk:cart';
  var ORDERS_KEY = 'cakewalk:orders';

  // Product drawings: inline SVG, no external assets.
  function art(bg, body) {
    return '<svg viewBox="0 0 120 80" role="img" aria-hidden="true"><rect width="120" height="80" fill="' + bg + '"/>' + body + '</svg>';
  }
  var PRODUCTS = [
    { id: 'TR-1', slug: 'trail-runner', name: 'Trail Runner', brand: 'Cakewalk', category: 'Footwear', price: 119,
      blurb: 'Grippy, light and happy in mud. A 6 mm drop trail shoe with a rock plate.',
      variants: ['EU 40', 'EU 42', 'EU 44'],
      img: art('#fde2c8', '<path d="M15 55 Q20 35 45 38 L70 30 Q95 32 105 55 Z" fill="#e4572e"/><rect x="12" y="55" width="96" height="8" rx="3" fill="#333"/>') },
    { id: 'DP-22', slug: 'ridge-daypack', name: 'Ridge Daypack 22L', brand: 'Cakewalk', category: 'Packs', price: 89,
      blurb: 'Twenty-two litres, a hip belt that actually carries, and a pocket for everything.',
      variants: ['Slate', 'Moss'],
      img: art('#d6ecf3', '<rect x="38" y="14" width="44" height="56" rx="12" fill="#2e6f95"/><rect x="46" y="40" width="28" height="18" rx="4" fill="#1d4e6b"/>') },
    { id: 'FL-3', slug: 'summit-fleece', name: 'Summit Fleece', brand: 'Cakewalk', category: 'Apparel', price: 74,
      blurb: 'A grid fleece that breathes on the climb and keeps you warm at the top.',
      variants: ['S', 'M', 'L', 'XL'],
      img: art('#e5f2d9', '<path d="M40 15 L60 22 L80 15 L98 30 L88 40 L82 34 L82 70 L38 70 L38 34 L32 40 L22 30 Z" fill="#5b8c2a"/>') },
    { id: 'RS-7', slug: 'alpine-shell', name: 'Alpine Rain Shell', brand: 'Northfold', category: 'Apparel', price: 159,
      blurb: 'Three-layer waterproof shell with pit zips and a helmet-ready hood.',
      variants: ['S', 'M', 'L'],
      img: art('#efe3f5', '<path d="M42 14 Q60 6 78 14 L96 32 L86 42 L80 36 L80 72 L40 72 L40 36 L34 42 L24 32 Z" fill="#7a4fa0"/><path d="M60 14 L60 72" stroke="#5a357c" stroke-width="2"/>') },
    { id: 'SK-2', slug: 'merino-socks', name: 'Merino Hiking Socks', brand: 'Cakewalk', category: 'Accessories', price: 18,
      blurb: 'Cushioned merino that does not smell after day three. Two pairs.',
      variants: ['S', 'M', 'L'],
      img: art('#fff3c4', '<path d="M50 10 L68 10 L68 48 Q70 62 56 66 L36 66 Q28 60 36 54 L50 48 Z" fill="#d99a06"/>') },
    { id: 'TP-5', slug: 'trekking-poles', name: 'Trekking Poles', brand: 'Northfold', category: 'Accessories', price: 65,
      blurb: 'Carbon, foldable, 460 g the pair. Your knees will write you a thank-you note.',
      variants: ['Pair'],
      img: art('#e2e8f0', '<path d="M45 10 L52 72 M75 10 L68 72" stroke="#334155" stroke-width="5" stroke-linecap="round"/><rect x="40" y="8" width="12" height="14" rx="3" fill="#e4572e"/><rect x="68" y="8" width="12" height="14" rx="3" fill="#e4572e"/>') }
  ];

  function $(sel) { return document.querySelector(sel); }
  function money(n) { return '$' + n.toFixed(2); }
  function product(id) { return PRODUCTS.filter(function (p) { return p.id === id || p.slug === id; })[0]; }
  function params() { return new URLSearchParams(location.search); }
  function read(key, fallback) {
    try { return JSON.parse(localStorage.getItem(key)) || fallback; } catch (e) { return fallback; }
  }
  function write(key, v) { try { localStorage.setItem(key, JSON.stringify(v)); } catch (e) { /* private mode */ } }

  // The cart: [{id, variant, quantity}].
  function cart() { return read(CART_KEY, []); }
  function saveCart(c) { write(CART_KEY, c); count(); }
  function count() {
    var n = cart().reduce(function (s, l) { return s + l.quantity; }, 0);
    var el = $('#cart-count');
    if (el) el.textContent = n ? String(n) : '';
  }

  /** A GA4 item for product `p`. */
  function item(p, extra) {
    var i = { item_id: p.id, item_name: p.name, item_brand: p.brand, item_category: p.category, price: p.price, quantity: 1 };
    for (var k in extra) i[k] = extra[k];
    return i;
  }
  function cartItems() {
    return cart().map(function (l) { return item(product(l.id), { item_variant: l.variant, quantity: l.quantity }); });
  }
  function total(items) { return items.reduce(function (s, i) { return s + i.price * i.quantity; }, 0); }

  /** GA4 e-commerce push, the way GTM containers expect it. */
  function push(event, ecommerce) {
    window.dataLayer = window.dataLayer || [];
    window.dataLayer.push({ ecommerce: null });
    window.dataLayer.push({ event: event, ecommerce: ecommerce });
  }

  // ---- pages ----

  function home() {
    var grid = $('#catalog');
    grid.innerHTML = PRODUCTS.map(function (p, i) {
      return '<a class="card" href="/product.html?id=' + p.slug + '" data-id="' + p.id + '" data-index="' + i + '">' +
        p.img + '<h2>' + p.name + '</h2><p class="muted">' + p.category + '</p><p class="price">' + money(p.price) + '</p></a>';
    }).join('');
    push('view_item_list', { item_list_id: 'home', item_list_name: 'Home',
      items: PRODUCTS.map(function (p, i) { return item(p, { index: i, item_list_name: 'Home' }); }) });
    grid.addEventListener('click', function (e) {
      var a = e.target.closest('a.card');
      if (!a) return;
      var p = product(a.dataset.id);
      push('select_item', { item_list_id: 'home', item_list_name: 'Home', items: [item(p, { index: Number(a.dataset.index) })] });
    });
  }

  function productPage() {
    var p = product(params().get('id')) || PRODUCTS[0];
    document.title = p.name + ' – Cakewalk Outfitters';
    $('.crumbs').innerHTML = '<a href="/">Shop</a> / ' + p.category + ' / ' + p.name;
    $('#product').innerHTML =
      '<div class="pimg">' + p.img + '</div><div class="pinfo"><p class="muted">' + p.brand + ' · ' + p.category + '</p>' +
      '<h1>' + p.name + '</h1><p class="price big">' + money(p.price) + '</p><p>' + p.blurb + '</p>' +
      '<label>Option <select id="variant">' + p.variants.map(function (v) { return '<option>' + v + '</option>'; }).join('') + '</select></label>' +
      '<label>Quantity <input id="qty" type="number" min="1" max="9" value="1"></label>' +
      '<button id="add" class="btn">Add to cart</button><p id="added" class="note" hidden>Added. <a href="/cart.html">View cart →</a></p></div>';
    push('view_item', { currency: CURRENCY, value: p.price, items: [item(p)] });
    $('#add').addEventListener('click', function () {
      var variant = $('#variant').value, qty = Math.max(1, Math.min(9, Number($('#qty').value) || 1));
      var c = cart(), line = c.filter(function (l) { return l.id === p.id && l.variant === variant; })[0];
      if (line) line.quantity += qty; else c.push({ id: p.id, variant: variant, quantity: qty });
      saveCart(c);
      push('add_to_cart', { currency: CURRENCY, value: p.price * qty, items: [item(p, { item_variant: variant, quantity: qty })] });
      $('#added').hidden = false;
    });
  }

  function cartPage() {
    function render() {
      var items = cartItems();
      $('#lines').innerHTML = items.length ? items.map(function (i, n) {
        return '<li class="line"><span class="lname">' + i.item_name + ' <small class="muted">' + i.item_variant + '</small></span>' +
          '<span class="qty"><button class="step" data-n="' + n + '" data-d="-1" aria-label="One less">−</button> ' + i.quantity +
          ' <button class="step" data-n="' + n + '" data-d="1" aria-label="One more">+</button></span>' +
          '<span>' + money(i.price * i.quantity) + '</span><button class="link" data-n="' + n + '" data-d="remove">Remove</button></li>';
      }).join('') : '<li class="empty">Your cart is empty. <a href="/">Keep shopping</a></li>';
      $('#subtotal').textContent = money(total(items));
      $('#checkout').disabled = !items.length;
    }
    $('#lines').addEventListener('click', function (e) {
      var b = e.target.closest('button[data-n]');
      if (!b) return;
      var c = cart(), line = c[Number(b.dataset.n)];
      if (!line) return;
      var p = product(line.id);
      var delta = b.dataset.d === 'remove' ? -line.quantity : Number(b.dataset.d);
      line.quantity += delta;
      saveCart(c.filter(function (l) { return l.quantity > 0; }));
      var changed = item(p, { item_variant: line.variant, quantity: Math.abs(delta) });
      push(delta > 0 ? 'add_to_cart' : 'remove_from_cart', { currency: CURRENCY, value: p.price * Math.abs(delta), items: [changed] });
      render();
    });
    render();
    var items = cartItems();
    push('view_cart', { currency: CURRENCY, value: total(items), items: items });
    // A/B test: the checkout button's text. onAssign also covers a call made before the SDK is
    // ready (the visitor is only exposed once the real assignment is known and shown).
    var btn = $('#checkout');
    window.funnelcake.experiment('checkout-button', {
      variations: ['Checkout', 'Buy now'],
      onAssign: function (r) { btn.textContent = r.value; }
    });
    btn.addEventListener('click', function () {
      var items = cartItems();
      push('begin_checkout', { currency: CURRENCY, value: total(items), items: items });
      location.href = '/checkout.html?step=contact';
    });
  }

  // Checkout: one page, three steps, moved through with history.pushState (an SPA flow).
  var STEPS = ['contact', 'shipping', 'payment'];
  var SHIPPING = { standard: 5, express: 15 };
  function checkoutPage() {
    var state = read('cakewalk:checkout', { email: '', name: '', address: '', tier: 'standard' });
    function show(step) {
      STEPS.forEach(function (s, i) {
        $('#step-' + s).hidden = s !== step;
        $('#crumb-' + s).className = s === step ? 'on' : i < STEPS.indexOf(step) ? 'done' : '';
      });
      document.title = 'Checkout: ' + step + ' – Cakewalk Outfitters';
      var items = cartItems(), ship = step === 'contact' ? 0 : SHIPPING[state.tier];
      $('#summary').innerHTML = items.map(function (i) {
        return '<li><span>' + i.quantity + ' × ' + i.item_name + '</span><span>' + money(i.price * i.quantity) + '</span></li>';
      }).join('') + '<li class="tot"><span>Total' + (ship ? ' incl. shipping' : '') + '</span><span>' + money(total(items) + ship) + '</span></li>';
    }
    function go(step) {
      history.pushState({ step: step }, '', '/checkout.html?step=' + step);
      show(step);
    }
    window.addEventListener('popstate', function () { show(params().get('step') || 'contact'); });
    $('#step-contact').addEventListener('submit', function (e) {
      e.preventDefault();
      state.email = $('#email').value;
      write('cakewalk:checkout', state);
      push('checkout_contact', { currency: CURRENCY, value: total(cartItems()), items: cartItems() });
      go('shipping');
    });
    $('#step-shipping').addEventListener('submit', function (e) {
      e.preventDefault();
      state.name = $('#name').value;
      state.address = $('#address').value;
      state.tier = (document.querySelector('input[name=tier]:checked') || {}).value || 'standard';
      write('cakewalk:checkout', state);
      push('add_shipping_info', { currency: CURRENCY, value: total(cartItems()), shipping_tier: state.tier, items: cartItems() });
      go('payment');
    });
    $('#step-payment').addEventListener('submit', function (e) {
      e.preventDefault();
      var items = cartItems(), ship = SHIPPING[state.tier];
      push('add_payment_info', { currency: CURRENCY, value: total(items), payment_type: 'Credit Card', items: items });
      var id = 'CW-' + Date.now().toString(36).toUpperCase() + Math.floor(Math.random() * 1e4);
      var orders = read(ORDERS_KEY, {});
      orders[id] = { items: items, shipping: ship, total: total(items) + ship };
      write(ORDERS_KEY, orders);
      saveCart([]);
      location.href = '/confirmation.html?order=' + id;
    });
    $('#email').value = state.email;
    $('#name').value = state.name;
    $('#address').value = state.address;
    show(params().get('step') || 'contact');
  }

  function confirmationPage() {
    var id = params().get('order'), order = read(ORDERS_KEY, {})[id];
    if (!order) {
      $('#thanks').innerHTML = '<h1>Order not found</h1><p><a href="/">Back to the shop</a></p>';
      return;
    }
    $('#order-id').textContent = id;
    $('#order-lines').innerHTML = order.items.map(function (i) {
      return '<li><span>' + i.quantity + ' × ' + i.item_name + '</span><span>' + money(i.price * i.quantity) + '</span></li>';
    }).join('') + '<li><span>Shipping</span><span>' + money(order.shipping) + '</span></li>' +
      '<li class="tot"><span>Total</span><span>' + money(order.total) + '</span></li>';
    // A reload pushes this again: funnelcake drops the repeated order id (duplicate_order).
    push('purchase', { transaction_id: id, currency: CURRENCY, value: order.total, shipping: order.shipping, items: order.items });
  }

  // The shop's frame on every page: header with the cart count, footer, and the live funnel
  // widget (this visitor's own progress, from the SDK's on('metrics')).
  document.body.insertAdjacentHTML('afterbegin', '<header class="bar"><a class="logo" href="/">Cakewalk <span>Outfitters</span></a>' +
    '<nav><a href="/">Shop</a><a href="/cart.html">Cart <b id="cart-count" class="badge"></b></a><a href="/dashboard.html">Dashboard</a></nav></header>');
  document.body.insertAdjacentHTML('beforeend', '<funnelcake-funnel class="corner" source="session" layout="compact" title="Your journey"></funnelcake-funnel>' +
    '<footer class="foot">Demo storefront for funnelcake: instrumented only with a GA4 dataLayer and one script tag.</footer>');
  var widgets = document.createElement('script');
  widgets.async = true;
  widgets.src = '/funnelcake/funnelcake-widgets.js';
  document.head.appendChild(widgets);

  count();
  var page = document.body.dataset.page;
  ({ home: home, product: productPage, cart: cartPage, checkout: checkoutPage, confirmation: confirmationPage }[page] || function () {})();
})();
