//! Charts drawn as SVG on the server (readable without JavaScript, and by screen readers via
//! their titles and the table under each): vertical bars for revenue per day, horizontal bars
//! for utilisation per category. The geometry is plain arithmetic, tested here.

use super::model::ChartPoint;
use crate::money::format_money;
use leptos::prelude::*;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;

/// A bar in chart coordinates (the SVG's viewBox units).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BarBox {
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
}

/// `value` as a share of `max` over `length` units, rounded; 0 for an empty chart.
pub fn scaled(value: Decimal, max: Decimal, length: u32) -> u32 {
    if max <= Decimal::ZERO || value <= Decimal::ZERO {
        return 0;
    }
    let share = (value.min(max) * Decimal::from(length) / max).round();
    share.to_u32().unwrap_or(0).min(length)
}

/// Bars side by side across `width`, growing up from `height` (the baseline).
pub fn vertical_bars(values: &[Decimal], width: u32, height: u32) -> Vec<BarBox> {
    let n = u32::try_from(values.len()).unwrap_or(u32::MAX).max(1);
    let slot = (width / n).max(1);
    let gap = (slot / 5).max(1).min(slot.saturating_sub(1));
    let max = values.iter().copied().max().unwrap_or_default();
    values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let h = scaled(*v, max, height);
            BarBox {
                x: u32::try_from(i).unwrap_or(0) * slot + gap / 2,
                y: height - h,
                width: slot - gap,
                height: h,
            }
        })
        .collect()
}

const VB_WIDTH: u32 = 640;
const PLOT_HEIGHT: u32 = 180;
const AXIS: u32 = 48;

/// Revenue per day of a month as vertical bars, with the largest day marked on the axis.
#[component]
pub fn DailyBars(
    title: String,
    points: Vec<ChartPoint>,
    currency: String,
    #[prop(into)] id: String,
) -> impl IntoView {
    let values: Vec<Decimal> = points.iter().map(|p| p.value).collect();
    let max = values.iter().copied().max().unwrap_or_default();
    let total: Decimal = values.iter().copied().sum();
    let plot = VB_WIDTH - AXIS;
    let bars = vertical_bars(&values, plot, PLOT_HEIGHT);
    let money = {
        let currency = currency.clone();
        move |v: Decimal| format_money(v, &currency)
    };
    let title_id = format!("{id}-title");
    let desc_id = format!("{id}-desc");
    let labelled_by = format!("{title_id} {desc_id}");
    let desc = format!(
        "{} days, {} in all; the best day brought {}.",
        points.len(),
        money(total),
        money(max)
    );
    let rects = bars
        .iter()
        .zip(&points)
        .map(|(b, p)| {
            let label = format!("Day {}: {}", p.label, money(p.value));
            view! {
                <rect class="bar" x=b.x + AXIS y=b.y width=b.width height=b.height>
                    <title>{label}</title>
                </rect>
            }
        })
        .collect_view();
    let ticks = bars
        .iter()
        .zip(&points)
        .enumerate()
        .filter(|(i, _)| i % 5 == 0)
        .map(|(_, (b, p))| {
            view! { <text class="tick" x=b.x + AXIS + b.width / 2 y=PLOT_HEIGHT + 16 text-anchor="middle">{p.label.clone()}</text> }
        })
        .collect_view();
    let rows = points
        .iter()
        .map(|p| view! { <tr><th scope="row">{p.label.clone()}</th><td>{money(p.value)}</td></tr> })
        .collect_view();
    view! {
        <figure class="chart">
            <svg viewBox=format!("0 0 {VB_WIDTH} {}", PLOT_HEIGHT + 24) role="img"
                aria-labelledby=labelled_by>
                <title id=title_id.clone()>{title.clone()}</title>
                <desc id=desc_id>{desc}</desc>
                <line class="axis" x1=AXIS y1=0 x2=AXIS y2=PLOT_HEIGHT />
                <line class="axis" x1=AXIS y1=PLOT_HEIGHT x2=VB_WIDTH y2=PLOT_HEIGHT />
                <text class="tick" x=AXIS - 4 y=12 text-anchor="end">{money(max)}</text>
                <text class="tick" x=AXIS - 4 y=PLOT_HEIGHT text-anchor="end">"0"</text>
                {rects}
                {ticks}
            </svg>
            <figcaption>{title}</figcaption>
            <details>
                <summary>"As a table"</summary>
                <table class="data"><thead><tr><th scope="col">"Day"</th><th scope="col">"Revenue"</th></tr></thead><tbody>{rows}</tbody></table>
            </details>
        </figure>
    }
}

/// Percentages (0–100) as horizontal bars, one per labelled row.
#[component]
pub fn PercentBars(
    title: String,
    points: Vec<ChartPoint>,
    #[prop(into)] id: String,
) -> impl IntoView {
    const ROW: u32 = 28;
    const LABEL: u32 = 170;
    let height = u32::try_from(points.len()).unwrap_or(0) * ROW + 8;
    let plot = VB_WIDTH - LABEL - 60;
    let title_id = format!("{id}-title");
    let rows = points
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let y = u32::try_from(i).unwrap_or(0) * ROW + 4;
            let width = scaled(p.value, Decimal::from(100), plot);
            let label = format!("{}: {}%", p.label, p.value.round_dp(1));
            view! {
                <g>
                    <title>{label}</title>
                    <text class="tick" x=LABEL - 8 y=y + 17 text-anchor="end">{p.label.clone()}</text>
                    <rect class="track" x=LABEL y=y + 4 width=plot height=ROW - 10 />
                    <rect class="bar" x=LABEL y=y + 4 width=width height=ROW - 10 />
                    <text class="tick" x=LABEL + plot + 6 y=y + 17>{format!("{}%", p.value.round_dp(1))}</text>
                </g>
            }
        })
        .collect_view();
    let table = points
        .iter()
        .map(|p| view! { <tr><th scope="row">{p.label.clone()}</th><td>{format!("{}%", p.value.round_dp(1))}</td></tr> })
        .collect_view();
    let empty = points.is_empty();
    view! {
        <figure class="chart">
            {(!empty).then(|| view! {
                <svg viewBox=format!("0 0 {VB_WIDTH} {height}") role="img" aria-labelledby=title_id.clone()>
                    <title id=title_id.clone()>{title.clone()}</title>
                    {rows}
                </svg>
            })}
            {empty.then(|| view! { <p class="hint">"No units yet."</p> })}
            <figcaption>{title}</figcaption>
            <details>
                <summary>"As a table"</summary>
                <table class="data"><thead><tr><th scope="col">"Category"</th><th scope="col">"Booked"</th></tr></thead><tbody>{table}</tbody></table>
            </details>
        </figure>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(n: i64) -> Decimal {
        Decimal::from(n)
    }

    #[test]
    fn values_scale_to_the_largest() {
        assert_eq!(scaled(d(50), d(100), 180), 90);
        assert_eq!(scaled(d(100), d(100), 180), 180);
        assert_eq!(scaled(d(0), d(100), 180), 0);
        assert_eq!(scaled(d(5), d(0), 180), 0);
        assert_eq!(scaled(d(200), d(100), 180), 180);
        assert_eq!(scaled(d(-5), d(100), 180), 0);
    }

    #[test]
    fn bars_share_the_width_and_stand_on_the_baseline() {
        let bars = vertical_bars(&[d(10), d(0), d(5)], 300, 100);
        assert_eq!(bars.len(), 3);
        assert_eq!(bars[0].height, 100);
        assert_eq!(bars[0].y, 0);
        assert_eq!(bars[1].height, 0);
        assert_eq!(bars[1].y, 100);
        assert_eq!(bars[2].height, 50);
        assert!(bars.windows(2).all(|w| w[0].x + w[0].width < w[1].x));
        assert!(bars.iter().all(|b| b.x + b.width <= 300));
    }

    #[test]
    fn an_empty_chart_draws_nothing() {
        assert!(vertical_bars(&[], 300, 100).is_empty());
    }
}
