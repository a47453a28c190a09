"""Market realism: seeded models of other participants' flow, fills and latency, their maximum
likelihood fits to Binance data, and the statistics that certify a fit."""
