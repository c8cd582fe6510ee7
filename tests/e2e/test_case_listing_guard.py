"""tines_case_info on both paths against tenants that cannot be trusted: endless pagination, ignored filters with a
limit, undocumented filter names, and metadata values that differ only in letter case.

Each list request is decoded from the simulator's log with the simulator's own
query parser, so a test states which pages and counts were asked for.
"""

from __future__ import annotations

from helpers.plays import CI, listed, page, play, queries, refused_listing, task

SECOPS = {"id": 7, "name": "SecOps"}
CASES = {
    318: {
        "name": "Beacon on host-44",
        "status": "OPEN",
        "team": SECOPS,
        "tags": ["edr", "beacon"],
        "metadata": {"source": "edr"},
    },
    319: {
        "name": "Phishing report",
        "status": "OPEN",
        "team": SECOPS,
        "tags": ["phishing"],
        "metadata": {"source": "mail"},
    },
    320: {
        "name": "Beacon on host-12",
        "status": "CLOSED",
        "team": SECOPS,
        "tags": ["edr"],
        "metadata": {"source": "EDR"},
    },
    321: {
        "name": "Malware on host-44",
        "status": "OPEN",
        "team": SECOPS,
        "tags": ["edr", "malware"],
        "metadata": {"source": "edr"},
    },
}
DOCUMENTED = (
    "and_tags, or_tags, tags, exclude_tags, assignees, and_assignees, exclude_assignees, authors, exclude_authors, "
    "case_ids, metadata, priority, records, search, status, sub_status_names, start_date, end_date, "
    "updated_at_start_date, updated_at_end_date, resolved_at_start_date, resolved_at_end_date, assignee_emails, "
    "author_emails, unassigned"
)


def test_a_tenant_that_repeats_page_one_fails_with_the_pagination(plays, sim):
    sim.reset(cases=CASES)
    # One case per page: the three open cases fill three pages, so page 2 is still within meta.pages.
    sim.set_options(paging="repeat", max_per_page=1)
    out = plays.run(
        play(
            [
                task("open cases", CI, filters={"status": "OPEN"}, ignore_errors=True),
                task("a limit one page fills", CI, limit=1),
            ]
        ),
        timeout=120,
    )
    assert out.rc == 0, out
    assert refused_listing(out, "open cases") == (
        "GET /api/v2/cases?page=2&per_page=500&filters[status]=OPEN: the pagination does not end: page 2 lists no "
        "case that an earlier page did not, yet names page 3 next (a tenant that ignores the page parameter answers "
        "this way). No cases are returned."
    )
    assert queries(out, "open cases") == [page(n, filters={"status": "OPEN"}) for n in (1, 2)]
    assert listed(out, "a limit one page fills") == [318]
    assert queries(out, "a limit one page fills") == [page(1, 1)]


def test_a_tenant_whose_next_page_never_ends_fails_with_the_pagination(plays, sim):
    sim.reset(cases=CASES)
    sim.set_options(paging="endless", max_per_page=2)
    out = plays.run(play([task("every case", CI, ignore_errors=True)]), timeout=120)
    assert out.rc == 0, out
    assert refused_listing(out, "every case") == (
        "GET /api/v2/cases?page=2&per_page=500: the pagination does not end: page 2 names page 3 next, but "
        "meta.pages says the list has 2. No cases are returned."
    )
    assert queries(out, "every case") == [page(1), page(2)]


def test_a_limit_gets_no_case_from_a_tenant_that_ignores_every_filter(plays, sim):
    sim.reset(cases=CASES)
    sim.set_options(ignore_filters=True, list_metadata=False)
    status_and_tags = {"status": "OPEN", "tags": ["phishing"]}
    status_and_search = {"status": "OPEN", "search": "host-12"}
    status_and_metadata = {"status": "OPEN", "metadata": {"source": "mail"}}
    out = plays.run(
        play(
            [
                task("status and tags", CI, filters=status_and_tags, limit=2, ignore_errors=True),
                task("status and search", CI, filters=status_and_search, limit=1, ignore_errors=True),
                task(
                    "status and metadata the list leaves out",
                    CI,
                    filters=status_and_metadata,
                    limit=2,
                    ignore_errors=True,
                ),
            ]
        )
    )
    assert out.rc == 0, out
    # The first two cases are OPEN, as asked; case 318 still shows that the tag filter was not applied.
    assert refused_listing(out, "status and tags").startswith(
        "the tenant did not apply filters.tags: case 318 has tags ['edr', 'beacon'], which filters.tags=[phishing] "
        "excludes. No cases are returned"
    )
    assert queries(out, "status and tags") == [page(1, 2, filters=status_and_tags)]
    # The count without search comes first; the listing's count, with every filter, is no lower.
    assert refused_listing(out, "status and search").startswith(
        "cannot confirm that the tenant applied filters.search: the listed cases cannot show it, and without it the "
        "list holds no more cases than with all the filters (4, against 4 with them). No cases are returned"
    )
    assert queries(out, "status and search") == [
        page(1, 1, filters={"status": "OPEN"}),
        page(1, 1, filters=status_and_search),
    ]
    # Metadata is left out of the list: after the listing, the count without it, then with every filter again.
    assert refused_listing(out, "status and metadata the list leaves out").startswith(
        "cannot confirm that the tenant applied filters.metadata: the listed cases cannot show it, and without it "
        "the list holds no more cases than with all the filters (4, against 4 with them)."
    )
    assert queries(out, "status and metadata the list leaves out") == [
        page(1, 2, filters=status_and_metadata),
        page(1, 1, filters={"status": "OPEN"}),
        page(1, 1, filters=status_and_metadata),
    ]


def test_an_undocumented_filter_name_is_refused_before_any_request(plays, sim):
    sim.reset(cases=CASES)
    out = plays.run(
        play(
            [
                task(
                    "a typo beside a real filter",
                    CI,
                    filters={"metadata": {"source": "edr"}, "stauts": "OPEN"},
                    ignore_errors=True,
                ),
                task(
                    "two unknown names",
                    CI,
                    filters={"assigned_to_me": True, "status": "OPEN", "tag": "edr"},
                    ignore_errors=True,
                ),
                task("empty filters", CI, filters={}, ignore_errors=True),
                task(
                    "a deprecated name Tines still documents",
                    CI,
                    filters={"unassigned": True, "status": "CLOSED"},
                    ignore_errors=True,
                ),
            ]
        )
    )
    assert out.rc == 0, out
    assert refused_listing(out, "a typo beside a real filter") == (
        "filters.stauts is not a filter Tines documents for its case list, and a tenant ignores a filter it does not "
        "know; use the documented names: " + DOCUMENTED
    )
    assert refused_listing(out, "two unknown names") == (
        "filters.assigned_to_me, filters.tag are not filters Tines documents for its case list, and a tenant ignores "
        "a filter it does not know; use the documented names: " + DOCUMENTED
    )
    assert refused_listing(out, "empty filters") == (
        "filters is empty: Tines would list every case; leave filters out to list every case on purpose"
    )
    for name in ("a typo beside a real filter", "two unknown names", "empty filters"):
        assert out.requests(name) == [], name
    # The simulator does not know `unassigned` and ignores it: its count without it shows no case left out.
    assert refused_listing(out, "a deprecated name Tines still documents").startswith(
        "cannot confirm that the tenant applied filters.unassigned: "
    )
    assert queries(out, "a deprecated name Tines still documents") == [
        page(1, 1, filters={"status": "CLOSED"}),
        page(1, filters={"unassigned": "true", "status": "CLOSED"}),
    ]


def test_metadata_values_differ_by_letter_case(plays, sim):
    sim.reset(cases=CASES)
    # A tenant that matched metadata ignoring letter case: case 320 holds source EDR.
    sim.add_fault(
        method="GET",
        path_contains="/api/v2/cases",
        status=200,
        body={
            "cases": [sim.get_case_record(n) for n in (318, 320, 321)],
            "meta": {"next_page": None, "next_page_number": None, "pages": 1, "count": 3},
        },
    )
    out = plays.run(
        play(
            [
                task(
                    "a tenant that ignores letter case", CI, filters={"metadata": {"source": "edr"}}, ignore_errors=True
                ),
                task("lower case", CI, filters={"metadata": {"source": "edr"}}),
                task("upper case", CI, filters={"metadata": {"source": "EDR"}}),
            ]
        )
    )
    assert out.rc == 0, out
    assert refused_listing(out, "a tenant that ignores letter case").startswith(
        "the tenant did not apply filters.metadata: case 320 has metadata source='EDR', which "
        "filters.metadata.source=edr excludes (values are compared exactly). No cases are returned"
    )
    assert listed(out, "lower case") == [318, 321]
    assert listed(out, "upper case") == [320]
    for name in ("lower case", "upper case"):
        assert len(out.requests(name)) == 1, name
