// Exact money arithmetic on the API's decimal strings ("12900.00"), in integer cents.

export function toCents(value) {
  const [whole, fraction = ""] = String(value).trim().split(".");
  const sign = whole.startsWith("-") ? -1 : 1;
  const cents = Math.abs(Number.parseInt(whole || "0", 10)) * 100 + Number.parseInt((fraction + "00").slice(0, 2), 10);
  return sign * cents;
}

export function fromCents(cents) {
  const sign = cents < 0 ? "-" : "";
  const abs = Math.abs(cents);
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, "0")}`;
}

/** The total of cart-like lines `{price, quantity}` as a decimal string. */
export function totalOf(lines) {
  return fromCents(lines.reduce((sum, line) => sum + toCents(line.price) * line.quantity, 0));
}
