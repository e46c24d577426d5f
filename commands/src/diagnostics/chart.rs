//! The new-tenants-per-hour chart: a PNG drawn with plotters, without text (a fresh machine may
//! have no fonts); the post's text carries the numbers and the axis reads oldest → newest hour.

use anyhow::Context as _;
use plotters::prelude::*;

const WIDTH: u32 = 720;
const HEIGHT: u32 = 240;

/// A bar per hour, oldest on the left; `counts[0]` is the hour 24 h ago.
pub fn hourly_bars(counts: &[i64]) -> anyhow::Result<Vec<u8>> {
    let mut rgb = vec![0u8; (WIDTH * HEIGHT * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).context("cannot fill the chart")?;
        draw(&root, counts)?;
        root.present().context("cannot draw the chart")?;
    }
    encode_png(&rgb)
}

fn draw(root: &DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>, counts: &[i64]) -> anyhow::Result<()> {
    let margin = 16i32;
    let (width, height) = (WIDTH as i32 - 2 * margin, HEIGHT as i32 - 2 * margin);
    let peak = counts.iter().copied().max().unwrap_or(0).max(1);
    let slots = counts.len().max(1) as i32;
    let slot = width / slots;
    let grid = RGBColor(225, 225, 225);
    for step in 1..=4 {
        let y = margin + height - height * step / 4;
        root.draw(&PathElement::new([(margin, y), (margin + width, y)], grid)).context("cannot draw the grid")?;
    }
    for (i, count) in counts.iter().enumerate() {
        let x = margin + slot * i as i32;
        let bar = (i128::from(height) * i128::from((*count).max(0)) / i128::from(peak)) as i32;
        let top = margin + height - bar;
        let colour = RGBColor(88, 101, 242);
        root.draw(&Rectangle::new([(x + 2, top), (x + slot - 2, margin + height)], colour.filled())).context("cannot draw a bar")?;
    }
    let axis = RGBColor(90, 90, 90);
    root.draw(&PathElement::new([(margin, margin + height), (margin + width, margin + height)], axis)).context("cannot draw the axis")?;
    Ok(())
}

fn encode_png(rgb: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut png = Vec::new();
    let mut encoder = png::Encoder::new(&mut png, WIDTH, HEIGHT);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().context("cannot write the PNG header")?;
    writer.write_image_data(rgb).context("cannot encode the chart as PNG")?;
    writer.finish().context("cannot finish the PNG")?;
    Ok(png)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chart_is_a_png_of_the_right_size() {
        let png = hourly_bars(&[0, 1, 5, 2, 0, 9, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 4]).unwrap();
        let decoder = png::Decoder::new(std::io::Cursor::new(&png));
        let reader = decoder.read_info().unwrap();
        assert_eq!((reader.info().width, reader.info().height), (WIDTH, HEIGHT));
        assert!(hourly_bars(&[]).is_ok(), "an empty day still draws");
        assert!(hourly_bars(&[i64::MAX, -3]).is_ok(), "odd counts cannot panic");
    }
}
