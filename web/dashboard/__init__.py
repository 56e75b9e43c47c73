"""The dashboard: overview, call log, customers, DNC list, charts, surveys and the operator screen.

One module per area adds its routes to the blueprint; importing this package registers them
all. Read models live in `dialer` (`kpis`, `calllog`, `customer_history`, `dnc`, `trends`,
`operator_case`); these views parse the request, check the role, call them and render.
"""

from web.dashboard import calls, charts, customers, dnc, operator, overview, surveys
from web.dashboard.blueprint import bp

__all__ = ["bp", "calls", "charts", "customers", "dnc", "operator", "overview", "surveys"]
