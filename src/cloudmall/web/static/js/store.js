// What the browser keeps: the signed-in session and the cart (localStorage), with change events.

const SESSION_KEY = "cloudmall.session";
const CART_KEY = "cloudmall.cart";
export const changes = new EventTarget();

function read(key, fallback) {
  try {
    const raw = localStorage.getItem(key);
    return raw ? JSON.parse(raw) : fallback;
  } catch {
    return fallback;
  }
}

function write(key, value) {
  try {
    if (value === null) localStorage.removeItem(key);
    else localStorage.setItem(key, JSON.stringify(value));
  } catch {
    // Private mode or a full quota: the page still works for this visit.
  }
}

// --- session ------------------------------------------------------------------------------
// The access token lives here; the session behind it lives in an HttpOnly refresh cookie the
// page cannot read. An expired access token is kept until api.js has renewed or dropped it.

let expiredNotice = false;

/** The current session `{token, user, expiresAt}` or null. */
export function getSession() {
  const session = read(SESSION_KEY, null);
  if (!session || !session.token || !session.user) return null;
  return session;
}

/** True when the session's access token has run out (or will within a few seconds). */
export function accessExpired(session) {
  return Boolean(session?.expiresAt) && Date.now() > session.expiresAt - 5000;
}

/** True once after a session was dropped for being too old: "log in again", not "log in". */
export function takeExpiredNotice() {
  const was = expiredNotice;
  expiredNotice = false;
  return was;
}

export function setSession(tokenAnswer) {
  write(SESSION_KEY, {
    token: tokenAnswer.access_token,
    user: tokenAnswer.user,
    expiresAt: Date.now() + Number(tokenAnswer.expires_in || 0) * 1000,
  });
  changes.dispatchEvent(new Event("session"));
}

export function clearSession({ expired = false } = {}) {
  const had = getSession() !== null;
  expiredNotice = expired && had;
  write(SESSION_KEY, null);
  if (had) changes.dispatchEvent(new Event("session"));
}

export function currentUser() {
  return getSession()?.user ?? null;
}

export function isAdmin() {
  return currentUser()?.role === "admin";
}

// --- cart ---------------------------------------------------------------------------------

/** Cart lines `{productId, name, price, quantity, thumbnail, stock}`; price is the one last seen. */
export function getCart() {
  const lines = read(CART_KEY, []);
  return Array.isArray(lines)
    ? lines.filter((l) => Number.isInteger(l.productId) && Number.isInteger(l.quantity))
    : [];
}

function saveCart(lines) {
  write(CART_KEY, lines.length ? lines : null);
  changes.dispatchEvent(new Event("cart"));
}

export function cartCount() {
  return getCart().reduce((sum, line) => sum + line.quantity, 0);
}

export function addToCart(product, quantity = 1) {
  const lines = getCart();
  const line = lines.find((l) => l.productId === product.id);
  if (line) {
    line.quantity += quantity;
  } else {
    lines.push({ productId: product.id, quantity, ...snapshot(product) });
  }
  saveCart(lines);
}

/** Refresh the remembered name, price, stock and thumbnail of a cart line from a product row. */
export function refreshCartLine(product) {
  const lines = getCart();
  const line = lines.find((l) => l.productId === product.id);
  if (line) {
    Object.assign(line, snapshot(product));
    saveCart(lines);
  }
}

function snapshot(product) {
  return {
    name: product.name,
    name_en: product.name_en || null,
    price: product.price,
    stock: product.stock_quantity,
    thumbnail: product.thumbnail_url,
  };
}

export function setCartQuantity(productId, quantity) {
  const lines = getCart();
  const line = lines.find((l) => l.productId === productId);
  if (!line) return;
  if (quantity <= 0) return removeFromCart(productId);
  line.quantity = quantity;
  saveCart(lines);
}

export function removeFromCart(productId) {
  saveCart(getCart().filter((l) => l.productId !== productId));
}

export function clearCart() {
  saveCart([]);
}
