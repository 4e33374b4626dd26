"""One module of routes per API: feeds, reports, catalog, listings items
(patchListingsItem), orders, auth (LWA), documents (the presigned URLs) and admin
(``/_sandbox``)."""
