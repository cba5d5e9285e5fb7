"""One router per resource; `cairn.api.app.ROUTERS` lists them."""
