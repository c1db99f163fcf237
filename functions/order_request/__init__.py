"""OrderRequest: accept a buyer's approved order and queue it for the shop."""
