"""Load the shipped rights texts (vecinos/rights/content/*.txt) as version 1 of each article.

Later changes to the files reach an existing database through ``vecinos rights load``.
"""

from django.db import migrations


def load_shipped_texts(apps, schema_editor):
    from vecinos.rights import content

    Article = apps.get_model("rights", "Article")
    ArticleVersion = apps.get_model("rights", "ArticleVersion")
    articles = {}
    for slug, topic in content.ARTICLES:
        articles[slug], _ = Article.objects.get_or_create(
            slug=slug, defaults={"topic": topic, "position": content.POSITION_OF[slug]}
        )
    for code in content.available():
        data = content.load(code)
        for slug, text in data.articles.items():
            if ArticleVersion.objects.filter(article=articles[slug], language=code).exists():
                continue
            ArticleVersion.objects.create(
                article=articles[slug],
                language=code,
                number=1,
                title=text.title,
                summary=text.summary,
                body=text.body,
                source="file",
                needs_native_review=code != "en",
            )


class Migration(migrations.Migration):
    dependencies = [("rights", "0001_initial")]

    operations = [migrations.RunPython(load_shipped_texts, migrations.RunPython.noop)]
