//! Product photos in pages: the WebP variants a photo has (`/img/{key}/{width}.webp`), written
//! as `srcset`, and a placeholder colour class shown until the photo loads (a class, because
//! the Content-Security-Policy allows no inline styles).

use crate::model::ImageRef;
use leptos::prelude::*;

/// The variant widths pages offer; the server's image pipeline produces the same ones.
pub const DEFAULT_WIDTHS: [u32; 4] = [150, 400, 800, 1200];

/// The configured widths a photo `source_width` wide has: every width up to the source's, and
/// the next larger one (rendered at the source's own width), so the sharpest copy is offered.
/// A 300 px photo with widths 150/400/800/1200 has 150 and 400 (300 px).
pub fn variant_widths(widths: &[u32], source_width: u32) -> Vec<u32> {
    let mut sorted = widths.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut out: Vec<u32> = sorted
        .iter()
        .copied()
        .filter(|w| *w <= source_width)
        .collect();
    if out.last() != Some(&source_width) {
        if let Some(next) = sorted.iter().copied().find(|w| *w > source_width) {
            out.push(next);
        }
    }
    out
}

/// `srcset` for `image`: each variant URL with its real pixel width.
pub fn srcset(image: &ImageRef) -> String {
    image
        .widths
        .iter()
        .map(|w| format!("/img/{}/{w}.webp {}w", image.key, (*w).min(image.width)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The smallest variant, for `src` (browsers without srcset).
pub fn fallback_src(image: &ImageRef) -> String {
    let width = image.widths.first().copied().unwrap_or(image.width);
    format!("/img/{}/{width}.webp", image.key)
}

/// One of the stylesheet's twelve `hue-N` classes nearest the photo's dominant colour
/// (`#rrggbb`).
pub fn placeholder_class(colour: &str) -> String {
    let channel = |i: usize| {
        colour
            .get(1 + 2 * i..3 + 2 * i)
            .and_then(|h| u8::from_str_radix(h, 16).ok())
            .map_or(0.0, |v| f32::from(v) / 255.0)
    };
    let (r, g, b) = (channel(0), channel(1), channel(2));
    let max = r.max(g).max(b);
    let min = r.min(g).min(b);
    let delta = max - min;
    let hue = if delta <= f32::EPSILON {
        0.0
    } else if max == r {
        60.0 * ((g - b) / delta).rem_euclid(6.0)
    } else if max == g {
        60.0 * ((b - r) / delta + 2.0)
    } else {
        60.0 * ((r - g) / delta + 4.0)
    };
    format!("hue-{}", ((hue / 30.0).round() as u32) % 12)
}

/// A product photo. `eager` for the first image a page shows (not lazy, high priority).
#[component]
pub fn Photo(image: ImageRef, sizes: &'static str, #[prop(optional)] eager: bool) -> impl IntoView {
    let height = image.height;
    let width = image.width;
    view! {
        <img
            class=format!("photo {}", placeholder_class(&image.placeholder))
            src=fallback_src(&image)
            srcset=srcset(&image)
            sizes=sizes
            width=width
            height=height
            alt=image.alt.clone()
            loading=if eager { "eager" } else { "lazy" }
            decoding="async"
            fetchpriority=eager.then_some("high")
        />
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(width: u32) -> ImageRef {
        ImageRef {
            key: "k".into(),
            width,
            height: width / 2,
            placeholder: "#336699".into(),
            alt: String::new(),
            widths: variant_widths(&[150, 400, 800, 1200], width),
        }
    }

    #[test]
    fn widths_never_upscale_but_offer_the_sharpest_copy() {
        assert_eq!(
            variant_widths(&[150, 400, 800, 1200], 2400),
            vec![150, 400, 800, 1200]
        );
        assert_eq!(variant_widths(&[1200, 150, 400, 800], 300), vec![150, 400]);
        assert_eq!(variant_widths(&[150, 400], 400), vec![150, 400]);
        assert_eq!(variant_widths(&[150, 400], 100), vec![150]);
    }

    #[test]
    fn srcset_names_real_pixel_widths() {
        assert_eq!(
            srcset(&image(300)),
            "/img/k/150.webp 150w, /img/k/400.webp 300w"
        );
        assert_eq!(fallback_src(&image(300)), "/img/k/150.webp");
    }

    #[test]
    fn placeholder_classes_follow_the_hue() {
        assert_eq!(placeholder_class("#ff0000"), "hue-0");
        assert_eq!(placeholder_class("#00ff00"), "hue-4");
        assert_eq!(placeholder_class("#0000ff"), "hue-8");
        assert_eq!(placeholder_class("#808080"), "hue-0");
        assert_eq!(placeholder_class("bad"), "hue-0");
    }
}
