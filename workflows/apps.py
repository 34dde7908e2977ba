from django.apps import AppConfig


class WorkflowsConfig(AppConfig):
    name = "workflows"
    verbose_name = "Review workflow"

    def ready(self) -> None:
        # Connect the receivers that turn source status changes into article flags.
        from . import receivers  # noqa: F401

        # Tokens die with the password they were issued under.
        import reviewsite.tokens  # noqa: F401
