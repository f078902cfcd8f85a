"""SPEC §3 Isolated low IgM panel when the index day has several IgM rows from different
specimens (docs/screening.md, "Several specimens on one day").

The day's IgM is its lowest value (same-day repeats), and that row keeps its specimen_id: the
partners are looked for with *that* specimen. The other IgM rows of the day, and the partners of
their specimens, play no part. Partners are themselves per-day values (the day's lowest IgG and
IgA), so the same specimen is found only when its partner is also the day's value.
"""


def test_the_partners_of_the_lowest_igm_rows_specimen_are_used(screen):
    # s1: IgM 30 with IgG/IgA of another day's values; s2: IgM 20 (the day's lowest IgM).
    # The day's IgG is s2's 1000 and the day's IgA is s2's 200: same specimen as the lowest IgM.
    result = screen(
        labs="""
        patient | date       | test | value | specimen
        p1      | 2020-01-10 | IgM  | 30    | s1
        p1      | 2020-01-10 | IgM  | 20    | s2
        p1      | 2020-01-10 | IgG  | 1000  | s2
        p1      | 2020-01-10 | IgA  | 200   | s2
        p1      | 2020-01-05 | IgG  | 500   | s1
        p1      | 2020-01-05 | IgA  | 20    | s1
    """
    )
    assert result.status == {"p1": "single_low"}
    assert result.row("p1")["min_igm_mg_dl"] == 20


def test_the_other_igm_rows_specimen_does_not_bring_its_partners(screen):
    # The day's lowest IgM (20) is s2's, which has no IgG/IgA of its own. s1's normal IgG and IgA
    # were taken 2 days later, s3's low IgG on the IgM day: with no same-specimen partner, the
    # nearest in time is judged, that is s3's low IgG (0 days) -- not s1's.
    result = screen(
        labs="""
        patient | date       | test | value | specimen
        p1      | 2020-01-10 | IgM  | 30    | s1
        p1      | 2020-01-10 | IgM  | 20    | s2
        p1      | 2020-01-12 | IgG  | 1000  | s1
        p1      | 2020-01-12 | IgA  | 200   | s1
        p1      | 2020-01-10 | IgG  | 500   | s3
        p1      | 2020-01-10 | IgA  | 200   | s3
    """
    )
    assert result.status == {"p1": "not_isolated"}


def test_with_the_lowest_igm_from_the_specimen_with_normal_partners_the_panel_is_isolated(screen):
    # The same rows as above, except that s1's IgM is now the day's lowest: its specimen's IgG
    # and IgA (2 days later, both normal) win over s3's nearer low IgG.
    result = screen(
        labs="""
        patient | date       | test | value | specimen
        p1      | 2020-01-10 | IgM  | 20    | s1
        p1      | 2020-01-10 | IgM  | 30    | s2
        p1      | 2020-01-12 | IgG  | 1000  | s1
        p1      | 2020-01-12 | IgA  | 200   | s1
        p1      | 2020-01-10 | IgG  | 500   | s3
        p1      | 2020-01-10 | IgA  | 200   | s3
    """
    )
    assert result.status == {"p1": "single_low"}
