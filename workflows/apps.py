from django.apps import AppConfig


class WorkflowsConfig(AppConfig):
    name = "workflows"
    verbose_name = "Review workflow"

    def ready(self) -> None:
        # Tokens die with the password they were issued under; the receivers turn
        # source status changes into article flags.
        import reviewsite.tokens  # noqa: F401

        from . import receivers  # noqa: F401
