// Deployment settings for the storefront. A deploy that serves these files from a CDN origin
// overwrites this file with the API's absolute URL, e.g. apiBase: "https://api.example.com".
export default {
  apiBase: "",
  currency: "KRW",
};
