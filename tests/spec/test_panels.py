"""SPEC §3 Isolated low IgM panel: a low IgM judged with one IgG and one IgA (per-day values):
the same specimen's if any, else the nearest within ±30 days (a tie goes to the earlier). Only
that result is judged; both must be within their limits."""


def test_igg_and_iga_31_days_away_do_not_make_a_panel(screen):
    result = screen(
        labs="""
        patient | date       | test | value
        p1      | 2020-01-10 | IgM  | 25
        p1      | 2020-02-10 | IgG  | 1000
        p1      | 2020-02-10 | IgA  | 200
        p2      | 2020-01-10 | IgM  | 25
        p2      | 2020-02-09 | IgG  | 1000
        p2      | 2020-02-09 | IgA  | 200
    """
    )
    # p1: +31 days, p2: +30 days (the window includes its ends).
    assert result.status == {"p1": "not_isolated", "p2": "single_low"}


def test_igg_and_iga_up_to_30_days_before_make_a_panel(screen):
    result = screen(
        labs="""
        patient | date       | test | value
        p1      | 2020-01-10 | IgM  | 25
        p1      | 2019-12-10 | IgG  | 1000
        p1      | 2019-12-10 | IgA  | 200
        p2      | 2020-01-10 | IgM  | 25
        p2      | 2019-12-11 | IgG  | 1000
        p2      | 2019-12-11 | IgA  | 200
    """
    )
    # p1: -31 days, p2: -30 days.
    assert result.status == {"p1": "not_isolated", "p2": "single_low"}


def test_one_missing_analyte_means_no_panel(screen):
    result = screen(
        labs="""
        patient | date       | test | value
        p1      | 2020-01-10 | IgM  | 25
        p1      | 2020-01-10 | IgG  | 1000
        p2      | 2020-01-10 | IgM  | 25
        p2      | 2020-01-10 | IgA  | 200
        p3      | 2020-01-10 | IgM  | 25
    """
    )
    assert result.status == {"p1": "not_isolated", "p2": "not_isolated", "p3": "not_isolated"}


def test_the_same_specimen_wins_over_a_nearer_result(screen):
    # p1: the same-specimen IgG (700, low) two days later beats the same-day IgG of another
    #     specimen (1000): not isolated.
    # p2: the same-specimen IgG is normal and the nearer one low: isolated.
    result = screen(
        labs="""
        patient | date       | test | value | specimen
        p1      | 2020-01-10 | IgM  | 25    | s1
        p1      | 2020-01-10 | IgG  | 1000  | s2
        p1      | 2020-01-12 | IgG  | 700   | s1
        p1      | 2020-01-10 | IgA  | 200   | s1
        p2      | 2020-01-10 | IgM  | 25    | s3
        p2      | 2020-01-10 | IgG  | 700   | s4
        p2      | 2020-01-12 | IgG  | 1000  | s3
        p2      | 2020-01-10 | IgA  | 200   | s3
    """
    )
    assert result.status == {"p1": "not_isolated", "p2": "single_low"}


def test_empty_specimen_ids_are_not_a_shared_specimen(screen):
    # No specimen ids: the nearest IgG (same day, 1000) is chosen, not the low one 5 days later.
    result = screen(
        labs="""
        patient | date       | test | value | specimen
        p1      | 2020-01-10 | IgM  | 25    |
        p1      | 2020-01-15 | IgG  | 700   |
        p1      | 2020-01-10 | IgG  | 1000  |
        p1      | 2020-01-10 | IgA  | 200   |
    """
    )
    assert result.status == {"p1": "single_low"}


def test_a_specimen_id_of_another_patient_is_not_the_same_specimen(screen):
    result = screen(
        labs="""
        patient | date       | test | value | specimen
        p1      | 2020-01-10 | IgM  | 25    | s1
        p1      | 2020-01-10 | IgG  | 1000  | s9
        p1      | 2020-01-10 | IgA  | 200   | s9
        p2      | 2020-01-12 | IgM  | 100   | s1
        p2      | 2020-01-12 | IgG  | 700   | s1
        p2      | 2020-01-12 | IgA  | 20    | s1
    """
    )
    assert result.status == {"p1": "single_low", "p2": "igm_not_low"}


def test_a_tie_in_distance_goes_to_the_earlier_result(screen):
    # IgG 9 days before and 9 days after the IgM: the earlier one is judged.
    result = screen(
        labs="""
        patient | date       | test | value
        p1      | 2020-01-10 | IgM  | 25
        p1      | 2020-01-01 | IgG  | 700
        p1      | 2020-01-19 | IgG  | 1000
        p1      | 2020-01-10 | IgA  | 200
        p2      | 2020-01-10 | IgM  | 25
        p2      | 2020-01-01 | IgG  | 1000
        p2      | 2020-01-19 | IgG  | 700
        p2      | 2020-01-10 | IgA  | 200
    """
    )
    assert result.status == {"p1": "not_isolated", "p2": "single_low"}


def test_only_the_chosen_result_is_judged(screen):
    # p1: the nearest IgG (+2 d) is low; a normal IgG at +10 d does not rescue the panel.
    # p2: the nearest IgG (+2 d) is normal; a low IgG at +10 d does not spoil it.
    result = screen(
        labs="""
        patient | date       | test | value
        p1      | 2020-01-10 | IgM  | 25
        p1      | 2020-01-12 | IgG  | 700
        p1      | 2020-01-20 | IgG  | 1000
        p1      | 2020-01-10 | IgA  | 200
        p2      | 2020-01-10 | IgM  | 25
        p2      | 2020-01-12 | IgG  | 1000
        p2      | 2020-01-20 | IgG  | 700
        p2      | 2020-01-10 | IgA  | 200
    """
    )
    assert result.status == {"p1": "not_isolated", "p2": "single_low"}


def test_both_igg_and_iga_must_be_within_limits(screen):
    # Adult limits IgG 767-1590, IgA 61-356.
    result = screen(
        labs="""
        patient | date       | test | value
        igg_low | 2020-01-10 | IgM  | 25
        igg_low | 2020-01-10 | IgG  | 700
        igg_low | 2020-01-10 | IgA  | 200
        igg_hi  | 2020-01-10 | IgM  | 25
        igg_hi  | 2020-01-10 | IgG  | 1700
        igg_hi  | 2020-01-10 | IgA  | 200
        iga_low | 2020-01-10 | IgM  | 25
        iga_low | 2020-01-10 | IgG  | 1000
        iga_low | 2020-01-10 | IgA  | 30
        iga_hi  | 2020-01-10 | IgM  | 25
        iga_hi  | 2020-01-10 | IgG  | 1000
        iga_hi  | 2020-01-10 | IgA  | 400
        both_ok | 2020-01-10 | IgM  | 25
        both_ok | 2020-01-10 | IgG  | 1000
        both_ok | 2020-01-10 | IgA  | 200
    """
    )
    assert result.status == {
        "igg_low": "not_isolated",
        "igg_hi": "not_isolated",
        "iga_low": "not_isolated",
        "iga_hi": "not_isolated",
        "both_ok": "single_low",
    }


def test_igg_and_iga_are_chosen_independently(screen):
    # IgG on the same day, IgA 20 days later: both within ±30 days.
    result = screen(
        labs="""
        patient | date       | test | value
        p1      | 2020-01-10 | IgM  | 25
        p1      | 2020-01-10 | IgG  | 1000
        p1      | 2020-01-30 | IgA  | 200
    """
    )
    assert result.status == {"p1": "single_low"}


def test_an_undecided_censored_igg_does_not_make_a_panel(screen):
    # ">700" may be below 767 or above 1590: not proven within limits.
    result = screen(
        labs="""
        patient | date       | test | value
        p1      | 2020-01-10 | IgM  | 25
        p1      | 2020-01-10 | IgG  | >700
        p1      | 2020-01-10 | IgA  | 200
    """
    )
    assert result.status == {"p1": "not_isolated"}


def test_one_isolated_panel_among_several_low_igms_is_enough(screen):
    # Two low IgMs, one isolated: the patient has an isolated panel, indexed on its date.
    result = screen(
        labs="""
        patient | date       | test | value
        p1      | 2020-01-10 | IgM  | 25
        p1      | 2020-06-10 | IgM  | 25
        p1      | 2020-06-10 | IgG  | 1000
        p1      | 2020-06-10 | IgA  | 200
    """
    )
    assert result.status == {"p1": "single_low"}
    assert result.index_date["p1"].isoformat() == "2020-06-10"


def test_the_panel_window_is_a_rules_setting(screen, site_rules):
    # A site allowing ±7 days: IgG/IgA 8 days away no longer make a panel.
    rules = site_rules(
        "criteria.toml", lambda text: text.replace("window_days = 30", "window_days = 7")
    )
    labs = """
        patient | date       | test | value
        p1      | 2020-01-10 | IgM  | 25
        p1      | 2020-01-18 | IgG  | 1000
        p1      | 2020-01-18 | IgA  | 200
    """
    assert screen(labs=labs).status == {"p1": "single_low"}
    assert screen(labs=labs, rules_dir=rules).status == {"p1": "not_isolated"}


def test_the_same_specimen_is_looked_for_among_the_per_day_values(screen):
    # On the IgM day the IgG of the IgM's own specimen (1000) is not the day's lowest: the day's
    # IgG is 700 (another specimen), and that is the one judged.
    result = screen(
        labs="""
        patient | date       | test | value | specimen
        p1      | 2020-01-10 | IgM  | 25    | s1
        p1      | 2020-01-10 | IgG  | 1000  | s1
        p1      | 2020-01-10 | IgG  | 700   | s2
        p1      | 2020-01-10 | IgA  | 200   | s1
    """
    )
    assert result.status == {"p1": "not_isolated"}
