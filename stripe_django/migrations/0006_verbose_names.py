# Readable verbose names of namespaced types (options only, no schema change).

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('stripe_django', '0005_merge'),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='appsinstall',
            options={'verbose_name': 'app install', 'verbose_name_plural': 'app installs'},
        ),
        migrations.AlterModelOptions(
            name='entitlementsactiveentitlement',
            options={'verbose_name': 'active entitlement', 'verbose_name_plural': 'active entitlements'},
        ),
        migrations.AlterModelOptions(
            name='entitlementsactiveentitlementsummary',
            options={'verbose_name': 'active entitlement summary', 'verbose_name_plural': 'active entitlement summaries'},
        ),
        migrations.AlterModelOptions(
            name='entitlementsfeature',
            options={'verbose_name': 'entitlement feature', 'verbose_name_plural': 'entitlement features'},
        ),
        migrations.AlterModelOptions(
            name='reportingreportrun',
            options={'verbose_name': 'report run', 'verbose_name_plural': 'report runs'},
        ),
        migrations.AlterModelOptions(
            name='reportingreporttype',
            options={'verbose_name': 'report type', 'verbose_name_plural': 'report types'},
        ),
    ]
