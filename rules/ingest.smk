rule ingest_export:
    """Detect the export's platform, lay it out, validate it against the codebook; drop direct identifiers.

    Its summary (platform, warnings, what the export lacks) or, on failure, its error message
    is printed on the console as well as in the log (belmig.ingest.console)."""
    input:
        # the configuration its command reads (re-runs the job when it changes)
        settings=settings("ingest_export", "ingest", "raw_export"),
        nb=f"{NB}/02_ingest.ipynb",
        export=config["raw_export"],
        export_meta=export_sidecar(config["raw_export"]),
        codebook=CODEBOOK,
        mapping=config["ingest"]["mapping"] or [],
        code=package_code("ingest", skip=("definitions", "mapexport")),
    output:
        ingested=f"{PROC}/ingested.parquet",
        values=f"{VALUES}/ingest.json",
        report=f"{PROC}/ingest_report.json",
        notebook=f"{EXE}/02_ingest.ipynb",
    log:
        "logs/ingest_export.log",
    conda:
        "../environment.yml"
    params:
        cmd=lambda w, input, output: nb_cmd(
            "02_ingest",
            {
                "raw_export": input.export,
                "codebook": input.codebook,
                "platform": config["ingest"]["platform"],
                "mapping": input.mapping or None,
                "time_zone": config["ingest"]["time_zone"],
                "out_ingested": output.ingested,
                "out_values": output.values,
                "out_report": output.report,
            },
        ),
    shell:
        # the log gets everything; the console too (tee), which is the stage's summary and
        # warnings (or its error message): the notebook writes them to the job's stderr
        '"$PYTHON" {params.cmd} 2>&1 | tee -a /dev/stderr > {log:q}'
