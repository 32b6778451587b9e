"""The SYNTHETIC raw export: a deterministic reconstruction calibrated to the published figures.

The microdata of the 2022 survey (335 Belarusians who came to Lithuania from 2020 on) is not
public. This module builds, from the printed figures (``data/published/figures.csv``), our
assumptions for what the report does not print (``assumed.csv``) and the audited bases
(``data/processed/audit_bases.csv``), a raw export in the shape of a survey-platform CSV such
that, after cleaning, exactly 335 respondents remain and their unweighted data reproduce every
published percentage and mean at its printed precision. NOTHING in it is real: every answer,
free text, email, IP address, phone number and handle is invented (emails on example.* domains,
IPs in the documentation ranges 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, phone numbers in
the fictional +1 202 555 01xx block, response ids prefixed ``SYN-``).

Steps (each a plain function over data frames; I/O only in ``write_export`` and ``main``),
one module each:

``targets``        exact integer counts per question/option (and per published subgroup cell);
``generate``       the 335 analysed respondents in coded form (contract of responses.parquet),
                   with exact marginal counts and the joint constraints built in;
``add_noise_rows`` free texts, admin fields and the submissions cleaning must remove
                   (``NOISE_COUNTS``), interleaved in submission order;
``to_export``      the platform CSV as strings (Russian headers and labels);
``write_export``   atomic, byte-stable CSV + ``<path>.meta.yaml`` sidecar;
``generate_scaled`` the same questionnaire and proportions for n respondents (benchmarks).

Randomness: one ``numpy.random.Generator`` per call, seeded from the ``seed`` argument. In the
analysed data it only decides *who* gets which answer (shuffles of exact counts); the admin
fields (timestamps, durations, IPs) and the choice of text variants are also drawn from it.

Modules: ``common`` (constants, :class:`SynthError`, helpers every step uses), ``texts`` (the free
texts, read from ``texts.yaml``), ``counts`` (:func:`targets`), ``respondents`` (:func:`generate`),
``noise`` (:func:`add_noise_rows`), ``export`` (:func:`to_export`, :func:`write_export`), ``cli``
(:func:`build`, :func:`main`; run as ``python -m belmig.synth``). The modules are not named after
the functions the package re-exports, so ``belmig.synth.targets`` is always the function.
"""

from belmig.synth import texts
from belmig.synth.cli import build, main
from belmig.synth.common import (
    MAX_SAME_SCALE_ANSWER,
    NOISE_COUNTS,
    SCALE_KEYS,
    SCALE_VALUES,
    TEXTS_WITH_CONTACTS,
    UNCODED,
    SynthError,
    apportion,
)
from belmig.synth.counts import Adjustment, Cell, Targets, Unmet, figure_value, targets
from belmig.synth.export import csv_bytes, meta_path, to_export, write_export
from belmig.synth.noise import add_noise_rows, closed_answer_columns, fingerprint, noise_counts_for
from belmig.synth.respondents import generate, generate_scaled

__all__ = [
    "MAX_SAME_SCALE_ANSWER",
    "NOISE_COUNTS",
    "SCALE_KEYS",
    "SCALE_VALUES",
    "TEXTS_WITH_CONTACTS",
    "UNCODED",
    "Adjustment",
    "Cell",
    "SynthError",
    "Targets",
    "Unmet",
    "add_noise_rows",
    "apportion",
    "build",
    "closed_answer_columns",
    "csv_bytes",
    "figure_value",
    "fingerprint",
    "generate",
    "generate_scaled",
    "main",
    "meta_path",
    "noise_counts_for",
    "targets",
    "texts",
    "to_export",
    "write_export",
]
