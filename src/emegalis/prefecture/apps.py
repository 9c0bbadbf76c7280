from django.apps import AppConfig


class PrefectureConfig(AppConfig):
    name = "emegalis.prefecture"
    label = "prefecture"
    verbose_name = "Préfecture (contrepartie @CTES)"
