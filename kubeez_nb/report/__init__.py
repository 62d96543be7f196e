"""Cost reports: where the credits went, as tables, charts, a standalone HTML file, CSV and Excel.

>>> report = kz.cost_report(client.history(), client=client)   # the balance comes from the client
>>> report                         # inline: headline, tables and charts
>>> report.to_html("costs.html")   # one file, every chart embedded: the report people forward
>>> report.to_csv("costs/"); report.to_excel("costs.xlsx")

Building a report computes its tables only (a few group-bys, cheap even for 50 000 rows); the
charts are drawn with matplotlib's Agg renderer when the report is shown or written, once each.
"""

from kubeez_nb.report.core import CostReport, cost_report
from kubeez_nb.report.tables import CHARTS, TABLES

__all__ = ["CHARTS", "TABLES", "CostReport", "cost_report"]
