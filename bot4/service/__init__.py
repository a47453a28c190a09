"""The pure order path: symbol service, admission, journals, commands, wire, idempotency, auth."""
