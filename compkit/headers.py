"""Workbook headers and sheet names in the reader's language: the evaluate workbook's column codes
(``base_pay``, ``bonus_deferred``) as people read them (基本工资, 递延奖金) or, under ``--lang en``, as English words.

The codes stay the data's names (in the CSV folder, in pandas, in code); only what a person sees in a workbook
changes. A code without an entry here reads as its words (``grade_mid`` -> 'Grade mid', then the catalog);
``allowance_<id>`` columns are named after the allowance.
"""
from __future__ import annotations

import re

from compkit import i18n
from compkit.i18n import N_

#: sheet name -> English msgid
SHEETS: dict[str, str] = {
    "summary": N_("Summary"), "indicators": N_("Indicators"), "commission": N_("Commission lines"),
    "deferrals": N_("Deferral schedule"), "salary_review": N_("Salary review"), "promotions": N_("Promotions"),
    "benefits": N_("Social insurance and housing fund"), "net": N_("Net pay by month"), "tax": N_("Tax"),
    "compliance": N_("Sound-pay compliance"), "compliance_people": N_("Compliance by person"),
    "clawbacks": N_("Clawbacks"), "leavers": N_("Leavers"), "allocation": N_("Wage bill allocation"),
    "awards": N_("Awards"), "rater_adjustments": N_("Rater adjustments"), "reconciliation": N_("Reconciliation"),
    "anomalies": N_("Supervision flags"),
    # appeals.xlsx (compkit appeal)
    "register": N_("Appeals register"), "corrections": N_("Corrections"), "diff": N_("Changes in outcomes"),
    "info": N_("Run information"),
}

#: column code -> English msgid (the unit in brackets where there is one)
COLUMNS: dict[str, str] = {
    "employee_id": N_("Employee ID"), "name": N_("Name"), "branch": N_("Branch"), "region": N_("Region"),
    "grade": N_("Grade"), "gender": N_("Gender"), "fte": N_("Full-time equivalent"), "hire_date": N_("Hire date"),
    "line": N_("Business line"),
    "exit_date": N_("Exit date"), "days_share": N_("Share of the cycle employed"),
    "performance": N_("Performance"), "ability": N_("Ability"), "attitude": N_("Attitude"),
    "composite_before_deductions": N_("Overall score before deductions"), "deductions": N_("Deductions (points)"),
    "composite": N_("Overall score"), "rating_group": N_("Rating group"), "rating_absolute": N_("Rating by score"),
    "rank_in_group": N_("Rank in group"), "group_size": N_("Group size"),
    "rating_guided": N_("Rating by guided shares"),
    "rating": N_("Rating"), "rating_name": N_("Rating name"), "rater_rules": N_("Rater rules applied"),
    "base_monthly": N_("Monthly base salary (CNY)"), "base_source": N_("Source of the base salary"),
    "base_pay": N_("Base pay (CNY)"), "allowances": N_("Allowances (CNY)"),
    "commission_gross": N_("Commission before gate and cap (CNY)"),
    "commission_settlement": N_("Commission settlement (CNY)"), "commission": N_("Commission (CNY)"),
    "commission_paid": N_("Commission paid (CNY)"), "commission_deferred": N_("Commission deferred (CNY)"),
    "commission_forfeited": N_("Commission forfeited (CNY)"), "commission_note": N_("Commission note"),
    "target_bonus": N_("Target bonus (CNY)"), "payout_multiple": N_("Payout multiple"), "bonus": N_("Bonus (CNY)"),
    "bonus_paid": N_("Bonus paid now (CNY)"), "bonus_deferred": N_("Bonus deferred (CNY)"),
    "bonus_forfeited": N_("Bonus forfeited (CNY)"), "exit_reason": N_("Exit reason"), "leaver": N_("Leaver"),
    "clawback_cancelled": N_("Clawback cancelled from deferred pay (CNY)"),
    "clawback_to_recover": N_("Clawback to recover (CNY)"), "awards": N_("Awards (CNY)"),
    "total_cash": N_("Total cash (CNY)"), "employee_contributions": N_("Employee contributions (CNY)"),
    "employer_contributions": N_("Employer contributions (CNY)"), "employer_cost": N_("Employer cost (CNY)"),
    "raise_pct": N_("Raise (%)"), "new_base_monthly": N_("New monthly base salary (CNY)"),
    "promotion": N_("Promotion or demotion"), "promotion_to": N_("To grade"),
    "promotion_base_monthly": N_("Monthly base salary after promotion (CNY)"), "pay_note": N_("Pay note"),
    # indicators
    "indicator": N_("Indicator"), "category": N_("Category"), "source": N_("Source"), "actual": N_("Actual"),
    "target": N_("Target"), "achievement": N_("Achievement"), "score": N_("Score"), "weight": N_("Weight"),
    "category_weight": N_("Category weight"), "effective_weight": N_("Effective weight"),
    "weighted_score": N_("Weighted score"), "note": N_("Note"),
    # commission lines
    "period": N_("Month"), "product": N_("Product"), "basis": N_("Sales basis (CNY)"),
    "cumulative_basis": N_("Cumulative sales basis (CNY)"), "cumulative_commission": N_("Cumulative commission (CNY)"),
    "paid_to_date": N_("Paid to date (CNY)"), "clawback": N_("Clawback"),
    # deferrals
    "component": N_("Component"), "part": N_("Part"), "year": N_("Year"), "due": N_("Due"),
    "scheduled": N_("Scheduled (CNY)"), "cancelled": N_("Cancelled (CNY)"), "payable": N_("Payable (CNY)"),
    # salary review and promotions
    "grade_mid": N_("Grade midpoint (CNY)"), "compa_ratio": N_("Compa-ratio"), "band": N_("Band"),
    "band_label": N_("Band label"), "eligible": N_("Eligible"), "merit_pct": N_("Merit increase (%)"),
    "raise_annual": N_("Raise per year (CNY)"), "reason": N_("Reason"), "recommendation": N_("Recommendation"),
    "to_grade": N_("To grade"), "years_in_grade": N_("Years in grade"), "near_miss": N_("Near miss"),
    "base_monthly_before": N_("Monthly base salary before (CNY)"), "new_step": N_("New step"),
    "pay_change": N_("Pay change (CNY)"),
    # benefits
    "wage_h1": N_("Wage base, first half (CNY)"), "wage_source_h1": N_("Wage source, first half"),
    "wage_h2": N_("Wage base, second half (CNY)"), "wage_source_h2": N_("Wage source, second half"),
    "si_base_h1": N_("Social insurance base, first half (CNY)"),
    "si_base_h2": N_("Social insurance base, second half (CNY)"),
    "hf_base_h1": N_("Housing fund base, first half (CNY)"), "hf_base_h2": N_("Housing fund base, second half (CNY)"),
    "at_floor": N_("At the social insurance floor"), "at_cap": N_("At the social insurance cap"),
    "hf_at_floor": N_("At the housing fund floor"), "hf_at_cap": N_("At the housing fund cap"),
    "employee_pension": N_("Pension, employee (CNY)"), "employee_medical": N_("Medical insurance, employee (CNY)"),
    "employee_unemployment": N_("Unemployment insurance, employee (CNY)"),
    "employee_housing_fund": N_("Housing fund, employee (CNY)"),
    "employee_supplementary_housing_fund": N_("Supplementary housing fund, employee (CNY)"),
    "employee_annuity": N_("Enterprise annuity, employee (CNY)"), "employer_pension": N_("Pension, employer (CNY)"),
    "employer_medical": N_("Medical insurance, employer (CNY)"),
    "employer_unemployment": N_("Unemployment insurance, employer (CNY)"),
    "employer_injury": N_("Work injury insurance, employer (CNY)"),
    "employer_housing_fund": N_("Housing fund, employer (CNY)"),
    "employer_supplementary_housing_fund": N_("Supplementary housing fund, employer (CNY)"),
    "employer_annuity": N_("Enterprise annuity, employer (CNY)"),
    # net pay and tax
    "base": N_("Base pay (CNY)"), "gross": N_("Gross pay (CNY)"), "special_deductions": N_("Special deductions (CNY)"),
    "deductible": N_("Deductible (CNY)"), "taxable_income_cumulative": N_("Cumulative taxable income (CNY)"),
    "tax_withheld": N_("Tax withheld (CNY)"), "bonus_tax": N_("Tax on the bonus (CNY)"), "net_pay": N_("Net pay (CNY)"),
    "wages": N_("Wages (CNY)"), "bonus_treatment": N_("Bonus tax treatment"),
    "tax_separate": N_("Tax, bonus taxed separately (CNY)"), "tax_combined": N_("Tax, bonus combined (CNY)"),
    "net_bonus": N_("Bonus after tax (CNY)"), "bonus_in_avoid_range": N_("Bonus in the range to avoid"),
    "bonus_cliff": N_("Bonus tax cliff (CNY)"), "bonus_avoid_to": N_("Range to avoid ends at (CNY)"),
    "reconciliation_tax_due": N_("Annual reconciliation: tax due (CNY)"),
    "reconciliation_balance": N_("Annual reconciliation: balance (CNY)"),
    "reconciliation_waived": N_("Annual reconciliation: waived"), "deferred_bonus": N_("Deferred bonus (CNY)"),
    "deferred_bonus_tax": N_("Tax on the deferred bonus (CNY)"),
    # compliance
    "rule": N_("Rule"), "population": N_("Population"), "value": N_("Value"), "limit": N_("Limit"),
    "status": N_("Result"), "people_affected": N_("People concerned"), "people": N_("People"),
    "fixed": N_("Fixed pay (CNY)"), "total": N_("Total pay (CNY)"), "fixed_share": N_("Fixed pay share"),
    "deferred": N_("Deferred (CNY)"), "deferred_share": N_("Deferred share"),
    "performance_multiple": N_("Performance pay / base pay"), "key_role": N_("Key role"), "senior": N_("Senior"),
    # clawbacks and leavers
    "date": N_("Date"), "loan_id": N_("Loan"), "deal_id": N_("Deal"), "share": N_("Share"),
    "amount": N_("Amount (CNY)"), "performance_pay": N_("Performance pay (CNY)"), "claimed": N_("Claimed (CNY)"),
    "to_recover": N_("To recover (CNY)"), "bonus_rule": N_("Bonus rule"), "deferred_rule": N_("Deferred pay rule"),
    "bonus_not_awarded": N_("Bonus not awarded (CNY)"), "deferred_forfeited": N_("Deferred pay forfeited (CNY)"),
    "deferred_kept": N_("Deferred pay kept (CNY)"),
    # wage bill
    "level": N_("Level"), "level_name": N_("Level name"), "unit": N_("Unit"), "parent": N_("Parent unit"),
    "headcount": N_("Head-count"), "fte_years": N_("Full-time years"), "pool": N_("Pool (CNY)"),
    "paid": N_("Paid (CNY)"),
    # awards
    "award": N_("Award"), "award_name": N_("Award name"), "group": N_("Group"), "measure": N_("Measure"),
    "rank": N_("Rank"),
    # supervision
    "check": N_("Check"), "inputs": N_("Inputs"), "outputs": N_("Outputs"), "difference": N_("Difference"),
    "ok": N_("Adds up"), "subject": N_("Subject"), "id": N_("ID"), "detail": N_("Detail"),
    "months_employed": N_("Months employed"), "withholding_income": N_("Income subject to withholding (CNY)"),
    "withholding_deductions": N_("Deductions from withholding (CNY)"),
    # a second half-year's tax: January-June carried on from (compkit.tax.YEAR_TO_DATE)
    "ytd_income": N_("Income subject to withholding, January to June (CNY)"),
    "ytd_deductions": N_("Deductions from withholding, January to June (CNY)"),
    "ytd_months": N_("Months employed, January to June"),
    "ytd_tax_withheld": N_("Tax withheld, January to June (CNY)"),
    "ytd_bonus_separate": N_("Bonus taxed separately, January to June (CNY)"),
    "ytd_source": N_("January to June from"),
    # rater adjustments
    "rater_id": N_("Rater"), "rater_role": N_("Rater role"), "n_ratings": N_("Ratings"), "n_ratees": N_("People rated"),
    "raw_mean": N_("Mean rating given"), "effect": N_("Leniency (points)"), "se": N_("Standard error"),
    "estimable": N_("Estimated"), "adjustment": N_("Adjustment to each rating (points)"),
    # run information
    "item": N_("Item"),
    # appeals (compkit appeal: appeals.xlsx)
    "appeal_id": N_("Appeal"), "filed_on": N_("Filed on"), "table": N_("Table"), "key": N_("Row key"),
    "column": N_("Column"), "claimed_value": N_("Value claimed"), "decided_value": N_("Value decided"),
    "decided_on": N_("Decided on"), "days_to_decision": N_("Days to decision"), "days_open": N_("Days open"),
    "within_window": N_("Within the appeal window"), "as_of": N_("As of"), "value_before": N_("Value before"),
    "value_after": N_("Value after"), "applied": N_("Correction applied"), "before": N_("Before"),
    "after": N_("After"), "change": N_("Change"), "cause": N_("Cause"),
}


#: the statements workbook (``compkit statements``: statements.xlsx), its own sheets and columns
SHEETS.update({"people": N_("Results and pay"), "feedback": N_("Feedback"), "plans": N_("Improvement plans")})
COLUMNS.update({
    "grade_title": N_("Position"), "days_employed": N_("Days employed"), "days_in_period": N_("Days in the period"),
    "bonus_indicative": N_("Indicative bonus (CNY)"), "bonus_indicative_paid": N_("Indicative bonus paid now (CNY)"),
    "bonus_indicative_deferred": N_("Indicative bonus deferred (CNY)"), "salary_review": N_("Salary review"),
    "award_names": N_("Awards won"), "pseudonym": N_("Code in the published results"),
    "indicator_name": N_("Indicator name"), "points_vs_target": N_("Points against target"),
    "peers": N_("Peers compared"), "share_below": N_("Share of peers scoring lower"),
    "standing": N_("Strength or weakness"), "kind": N_("Kind"), "order": N_("Order"), "text": N_("Text"),
    "month": N_("Month (in words)"), "product_name": N_("Product name"), "sales": N_("Sales (CNY)"),
    "line_kind": N_("Payment or clawback"), "remark": N_("Remark"), "contributions": N_("Employee contributions (CNY)"),
    "cycle": N_("Cycle"), "meeting_date": N_("Meeting date"), "met_by": N_("Met by"), "action": N_("Agreed action"),
    "due_date": N_("Due date"), "acknowledged": N_("Acknowledged"), "acknowledged_on": N_("Acknowledged on"),
    "comment": N_("Comment"), "score_before": N_("Score then"), "score_now": N_("Score now"),
    "change": N_("Change (points)"), "moved": N_("Moved"),
})


def column_label(code: object, lang: str | None) -> str:
    """A column's header for people: its entry in :data:`COLUMNS` in ``lang``; ``allowance_<id>`` as 'Allowance:
    <name>'; any other code as its words through the catalog (i18n.term)."""
    c = str(code)
    _ = i18n.gettext(lang)
    if c in COLUMNS:
        return _(COLUMNS[c])
    m = re.fullmatch(r"allowance_(\w+)", c)
    if m:
        return _("Allowance: {name} (CNY)").format(name=i18n.term(m.group(1), lang))
    return i18n.term(c, lang)


def sheet_label(name: str, lang: str | None) -> str:
    """A sheet's name for people (at most 31 characters, as Excel allows)."""
    return (i18n.gettext(lang)(SHEETS[name]) if name in SHEETS else i18n.term(name, lang))[:31]
