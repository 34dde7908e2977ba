"""Reader-site forms: the article list filters and the editorial-policy editor."""

from django import forms

from .models import Article, EditorialPolicy, topic_name


class ArticleFilterForm(forms.Form):
    """Search, topic and audience filters of the article list (GET)."""

    q = forms.CharField(
        label="Search articles",
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "e.g. multiple sclerosis"}),
    )
    topic = forms.ChoiceField(label="Topic", required=False)
    audience = forms.ChoiceField(
        label="Written for",
        required=False,
        choices=[("", "Everyone"), *Article.Audience.choices],
    )

    def __init__(self, *args, topics: list[str] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["topic"].choices = [("", "All topics"), *((t, topic_name(t)) for t in topics)]

    def filters(self) -> dict[str, str]:
        """The valid filters as keyword arguments for the list selector."""
        if not self.is_valid():
            return {}
        return {name: self.cleaned_data.get(name) or "" for name in ("q", "topic", "audience")}


class EditorialPolicyForm(forms.ModelForm):
    """A new version of the editorial policy and disclaimer (Managing editors)."""

    class Meta:
        model = EditorialPolicy
        fields = ["body", "disclaimer"]
        labels = {"body": "Policy (Markdown)", "disclaimer": "Disclaimer shown on every article"}
        widgets = {
            "body": forms.Textarea(attrs={"rows": 20, "aria-describedby": "id_body_help"}),
            "disclaimer": forms.Textarea(attrs={"rows": 4}),
        }
