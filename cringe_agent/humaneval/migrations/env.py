"""Alembic environment: the URL comes from the config that :func:`cringe_agent.humaneval.db.migrate` builds."""

from alembic import context
from sqlalchemy import pool

from cringe_agent.humaneval.db import Base, make_engine

config = context.config
url = config.get_main_option("sqlalchemy.url")

if context.is_offline_mode():
    context.configure(url=url, target_metadata=Base.metadata, literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    engine = (
        make_engine(url)
        if url.startswith("sqlite")
        else __import__("sqlalchemy").create_engine(url, poolclass=pool.NullPool)
    )
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()
