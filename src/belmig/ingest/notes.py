"""What the ingest report says to readers, in English (belmig.core.messages): how the platform
was recognised, how time stamps were read, what the export's lacks mean. The report's translated
editions word the same notes (report/tables.<lang>.yaml, notes: ingest.<id>)."""

from __future__ import annotations

from belmig.core import messages

NOTE = messages.catalog(
    "ingest",
    {
        # how the platform was recognised (belmig.ingest.detect)
        "stata_file": "a Stata .dta file",
        "spss_limesurvey": "SPSS file with LimeSurvey's admin variables (id, submitdate, lastpage, startlanguage)",
        "spss_file": "an SPSS .sav file",
        "qualtrics": "Qualtrics metadata columns ({columns})",
        "qualtrics_legacy": "Qualtrics's legacy header row (V1, V2, V3…)",
        "qualtrics_import_ids": "Qualtrics's ImportId row ({first})",
        "surveymonkey": "SurveyMonkey's first columns 'Respondent ID', 'Collector ID'",
        "limesurvey_codes": "LimeSurvey admin fields (id, submitdate, lastpage, startlanguage)",
        "limesurvey_headings": "LimeSurvey admin headings (Response ID, Date submitted, Last page, Start language)",
        "limesurvey_questions": "LimeSurvey question codes ({first}…)",
        "kobo": "KoboToolbox meta columns ({columns})",
        "google_forms": "Google Forms' timestamp column {column} first",
        "codebook_admin": "the codebook's admin columns ({columns})",
        "google_forms_guess": (
            "guessed: question titles as headers, no metadata column and no 'Other' text column "
            "(Google Forms' layout, but its timestamp column is not there)"
        ),
        "no_signature": "no platform signature found; read as the codebook's own layout",
        # the time zone of a time stamp column (belmig.ingest.validate)
        "zone_stated": "{zone} (stated in the file)",
        "zone_study": "{zone} (not stated in the file; read as the study's time zone)",
        "zone_given": "{zone}",
        # how a question was matched (the adapters in belmig.ingest.platforms)
        "method_header": "header = codebook column",
        "method_header_labels": "header = codebook column (labels export)",
        "method_variable_label": "variable label = codebook column",
        "method_heading": "heading = codebook column",
        "method_row2": "row-2 label = codebook column",
        "method_option_columns": "option columns from the codebook",
        "method_question_text": "question text over its columns",
        "method_overlay": "mapping overlay",
        "method_mr_set": "multiple-response set ${name}",
        "method_dichotomies": "dichotomies {stem}_* (labels = the question's options)",
        # the counted warnings (belmig.ingest.validate): "warn_" + the warning's check
        "warn_no_start_time": "the export has no start times: durations are unknown and the speeder check is skipped",
        "warn_not_asked": (
            "answers where the codebook says the question was not asked (the cleaning stage clears and counts them)"
        ),
        "warn_other_without_choice": (
            "'Other' texts while 'Other' is not chosen (the cleaning stage clears and counts them)"
        ),
        "warn_empty_question": "questions nobody answered",
        "warn_ambiguous_date_order": (
            "every day of the month in the {column} timestamps is 12 or less, so which is the day and which "
            "the month is a guess ({read}, not {other}): check the dates against the platform's locale"
        ),
        # what the export's lacks and time zones mean (belmig.ingest.report)
        "no_start_times": (
            "The export has no start times, so how long each submission took is unknown: the speeder "
            "check was skipped, and submissions it would have removed as too fast are kept."
        ),
        "no_response_ids": "The export has no response ids: ids were generated from the data row (row-0001, …).",
        "zone_assumed": "The export's timestamps state no time zone; they were read as {zone} wall-clock time.",
        "zone_converted": "The export's timestamps ({given}) were converted to {zone}.",
    },
)
