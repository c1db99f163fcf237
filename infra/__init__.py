"""Everything about running the gateway that is not deployed code: sam config, the local stack."""
