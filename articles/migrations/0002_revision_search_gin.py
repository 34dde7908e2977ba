"""Full-text search index for the reader site's article search (PostgreSQL only).

The index expression is exactly what ``articles.selectors.reader_article_list``
filters on (SearchVector over title, summary and body, "english" config), so
PostgreSQL can use it. Other databases get nothing, and because RunPython changes no
model state, ``makemigrations --check`` stays clean on every backend.
"""

from django.db import migrations

INDEX_NAME = "revision_search_gin"


def _index():
    from django.contrib.postgres.indexes import GinIndex
    from django.contrib.postgres.search import SearchVector

    return GinIndex(SearchVector("title", "summary", "body", config="english"), name=INDEX_NAME)


def add_search_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.add_index(apps.get_model("articles", "ArticleRevision"), _index())


def remove_search_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.remove_index(apps.get_model("articles", "ArticleRevision"), _index())


class Migration(migrations.Migration):
    dependencies = [
        ("articles", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(add_search_index, remove_search_index, elidable=False),
    ]
