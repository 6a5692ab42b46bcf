"""Every model module, imported in one place so that the metadata (Alembic, tests) knows every table."""


def import_all() -> None:
    import mgd.admin.models  # noqa: PLC0415
    import mgd.billing.models  # noqa: PLC0415
    import mgd.chat.models  # noqa: PLC0415
    import mgd.chat.visitor_models  # noqa: PLC0415
    import mgd.helpcentre.models  # noqa: PLC0415
    import mgd.notify.models  # noqa: PLC0415
    import mgd.orders.models  # noqa: PLC0415
    import mgd.registration.models  # noqa: PLC0415
    import mgd.security.models  # noqa: PLC0415
    import mgd.tenants.models  # noqa: PLC0415
    import mgd.usage.alert_models  # noqa: PLC0415
    import mgd.usage.models  # noqa: F401, PLC0415
