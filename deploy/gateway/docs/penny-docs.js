// Starts Swagger UI over the OpenAPI documents that index.html lists (one entry per service in
// the viewer's "Select a definition" menu). Kept out of index.html so the page needs no inline
// script and the gateway can send a strict Content-Security-Policy.
"use strict";

window.addEventListener("load", function () {
  var links = document.querySelectorAll("#penny-documents a[data-openapi]");
  var urls = Array.prototype.map.call(links, function (link) {
    // `link.href` is the absolute URL, resolved against the page, so a gateway served under a
    // path prefix still finds its documents.
    return { name: link.getAttribute("data-openapi"), url: link.href };
  });
  window.ui = SwaggerUIBundle({
    urls: urls,
    dom_id: "#swagger-ui",
    deepLinking: true,
    // `?urls.primaryName=ledger` opens that service's document first.
    queryConfigEnabled: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    plugins: [SwaggerUIBundle.plugins.DownloadUrl],
    layout: "StandaloneLayout",
    // Never send the documents to a third-party validator.
    validatorUrl: null,
    // Access tokens stay in the page's memory only.
    persistAuthorization: false,
  });
});
