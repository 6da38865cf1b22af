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

const wonNumbers = new Intl.NumberFormat("ko-KR", { maximumFractionDigits: 0 });
const currencyFormats = new Map();

/**
 * An amount as shoppers read it: won as `22,000원` in Korean and `₩22,000` in English; any other
 * currency the way Intl writes it for the language.
 */
export function formatMoney(value, lang, currency = "KRW") {
  const amount = Number(value);
  if (currency === "KRW" && lang === "ko") return `${wonNumbers.format(amount)}원`;
  const locale = lang === "ko" ? "ko-KR" : "en-US";
  const key = `${locale}|${currency}`;
  if (!currencyFormats.has(key)) {
    currencyFormats.set(
      key,
      new Intl.NumberFormat(locale, {
        style: "currency",
        currency,
        minimumFractionDigits: 0,
        maximumFractionDigits: currency === "KRW" ? 0 : 2,
      }),
    );
  }
  return currencyFormats.get(key).format(amount);
}

/** The whole percent a sale takes off: `list` 25,000 and `price` 20,000 → 20. */
export function percentOff(price, list) {
  const before = toCents(list);
  return before > 0 ? Math.round(((before - toCents(price)) * 100) / before) : 0;
}
