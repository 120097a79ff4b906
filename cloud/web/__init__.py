"""The web console: server-rendered pages for quality engineers and auditors.

The pages sit under `/console` in the same Litestar service, behind the same login
and roles as the API (`cloud.domain.auth.policy`), and call the same services; what
is here is only what a page needs besides them: searching by any identifier, the
line status, the KPIs, and drawing (genealogy graph, charts) as inline SVG.
"""
