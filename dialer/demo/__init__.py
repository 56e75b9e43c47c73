"""`dialer demo`: a real campaign afternoon, end to end, on the embedded default.

On an empty directory it creates the SQLite database, generates and imports a seeded Japanese
shop, builds the call lists of the sample `campaigns.yaml`, and runs the product's own
processes against the local Twilio sandbox: the web app (webhooks and dashboard) and the worker
(dispatch, pacing, reconciliation) in processes of their own, as in production, while this
process plays Twilio and shows the progress. Time is simulated: an open weekday afternoon that
runs `speed` times faster than the real clock, shared by the sandbox, the app and the worker.

Modules: `clock` (the shared simulated time), `day` (which afternoon), `workspace` (the
directory, database, shop and lists), `processes` (the web app and worker processes),
`progress` (what is shown while it runs), `summary` (the KPIs at the end), `run` (the whole).
"""

from dialer.demo.run import DemoOptions, run_demo

__all__ = ["DemoOptions", "run_demo"]
