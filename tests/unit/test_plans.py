import pytest
from framelane_usage.metering import DEFAULT_PLANS, configured_plans


def test_overrides_merge_into_the_plans():
    plans = configured_plans('{"pro": {"concurrent_jobs": 2, "rate_limits_per_minute": {"create": 60}}}')
    assert plans["pro"]["concurrent_jobs"] == 2 and plans["pro"]["rate_limits_per_minute"]["create"] == 60
    assert configured_plans("")["pro"] == DEFAULT_PLANS["pro"] != plans["pro"]  # the defaults are left alone


@pytest.mark.parametrize("overrides", ['{"no-such-plan": {}}', '{"no-such-plan": {"concurrent_jobs": 1}}',
                                       '{"pro": {"no_such_field": 1}}'])
def test_unknown_plans_and_fields_are_refused(overrides):
    with pytest.raises(ValueError, match="FRAMELANE_PLAN_OVERRIDES"):
        configured_plans(overrides)
