"""belmig: the survey-to-report pipeline for the 2022 study of Belarusian migration to Lithuania."""

__version__ = "0.1.0"
