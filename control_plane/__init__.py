"""Control Plane: operations for a schema-per-tenant PostgreSQL SaaS.

This package never imports Streamlit: pages and jobs call into it.
"""
