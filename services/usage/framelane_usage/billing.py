"""Billing faces without a payment provider: the console's billing page, and the current
period's invoice computed from the meters and the plan's prices."""

from framelane_core.context import Principal
from framelane_usage.metering import PLANS, Meters


class Billing:
    def __init__(self, meters: Meters, console_url: str):
        self.meters, self.console_url = meters, console_url.rstrip("/")

    def portal_url(self, principal: Principal) -> str:
        return f"{self.console_url}/billing"

    async def preview(self, principal: Principal) -> dict:
        usage = await self.meters.usage(principal, None)
        plan = PLANS[usage["plan"]]
        lines = []
        if plan["price_per_month_usd"] is not None:
            lines.append({"description": f"{usage['plan'].capitalize()} plan", "quantity": 1, "unit": "month",
                          "unit_amount_usd": float(plan["price_per_month_usd"]),
                          "amount_usd": float(plan["price_per_month_usd"])})
        included = plan["render_minutes_per_month"]
        overage_price = plan["overage_per_render_minute_usd"]
        if overage_price is not None and included is not None:
            over = max(0.0, usage["render_minutes"] - included)
            lines.append({"description": f"Render minutes over the {included:g} included", "quantity": round(over, 4),
                          "unit": "render_minute", "unit_amount_usd": overage_price,
                          "amount_usd": round(over * overage_price, 2)})
        return {"plan": usage["plan"], "period_start": usage["period_start"], "period_end": usage["period_end"],
                "currency": "usd", "lines": lines, "total_usd": round(sum(line["amount_usd"] for line in lines), 2)}
