"""One module of routes per API: feeds, reports, catalog, orders, auth (LWA), documents
(the presigned URLs) and admin (``/_sandbox``)."""
