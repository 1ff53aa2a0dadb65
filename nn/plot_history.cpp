#include "tapegrad/nn/plot_history.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>

#include "tapegrad/nn/atomic_file.h"
#include "tapegrad/nn/utf8_text.h"

namespace nn {

namespace {

constexpr int kMinWidth = 320, kMinHeight = 200;
// Room around the axes: value labels left, title above, epoch labels and axis name below, and
// the legend's own column on the right.
constexpr double kLeft = 58, kTop = 40, kBottom = 52, kLegendWidth = 170, kGap = 16;
// The legend's text starts this far into its column; its glyphs (13 px DejaVu Sans) average
// about this wide. A column grows for longer labels, up to this share of the picture; a label
// still too long ends in "…" inside the column rather than being cut at the picture's edge
// (SVG's textLength would squeeze it, but not every renderer honours it). A wider picture shows
// it whole.
constexpr double kLegendTextLeft = 42, kLegendTextRight = 10, kGlyphWidth = 8, kLegendShareMax = 0.45;
// With more epochs than this, points are not marked (they would merge into the line).
constexpr size_t kMarkPointsUpTo = 40;

// Colours of the tab10 palette (matplotlib's default), one per figure name.
constexpr const char* kColours[] = {"#d62728", "#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd",
                                    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};

std::string escape_xml(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

bool is_validation(const std::string& key) { return key.rfind("val_", 0) == 0; }

// A text's width in average Latin glyphs: a code point of one or two UTF-8 bytes counts 1, one
// of three or four (CJK ideographs, kana, hangul, emoji: full-width at about 1.6 glyphs) counts
// 2. An overestimate only shortens a label sooner.
double glyph_units(const std::string& text) {
  double units = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    if ((c & 0xC0) == 0x80) continue;
    units += c >= 0xE0 ? 2 : 1;
  }
  return units;
}

// Text drawn into the SVG must be valid UTF-8 without control characters, which XML forbids.
void check_svg_text(const std::string& text, const char* what) {
  check_utf8(text, "plot_history", what);
  auto bad = std::find_if(text.begin(), text.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7F;
  });
  TG_CHECK(bad == text.end(), "plot_history: {} {:?} holds the control character {:#04x}, which SVG cannot show", what,
           text, static_cast<unsigned>(static_cast<unsigned char>(*bad)));
}
std::string figure_of(const std::string& key) { return is_validation(key) ? key.substr(4) : key; }

// Every key, training figures first with loss leading, then the validation twins in that order.
std::vector<std::string> default_keys(const History& history) {
  std::vector<std::string> training, validation;
  for (const auto& [key, values] : history.history) (is_validation(key) ? validation : training).push_back(key);
  auto rank = [](const std::string& key) { return figure_of(key) == "loss" ? 0 : 1; };
  auto order = [&](const std::string& a, const std::string& b) {
    return std::pair(rank(a), figure_of(a)) < std::pair(rank(b), figure_of(b));
  };
  std::sort(training.begin(), training.end(), order);
  std::sort(validation.begin(), validation.end(), order);
  training.insert(training.end(), validation.begin(), validation.end());
  return training;
}

// A "nice" tick step (1, 2, 2.5 or 5 times a power of ten) giving at most `max_ticks` intervals.
double nice_step(double span, int max_ticks) {
  double raw = span / max_ticks;
  double power = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0})
    if (m * power >= raw) return m * power;
  return 10 * power;
}

struct Axis {
  double lo, hi, step;
};

// y from 0 to 1 as the book draws it, widened to rounded bounds when a value leaves [0, 1].
Axis value_axis(double lowest, double highest) {
  double lo = std::min(0.0, lowest), hi = std::max(1.0, highest);
  double step = nice_step(hi - lo, 5);
  return {std::floor(lo / step) * step, std::ceil(hi / step) * step, step};
}

}  // namespace

std::string history_svg(const History& history, const PlotOptions& options) {
  TG_CHECK(options.width >= kMinWidth && options.height >= kMinHeight,
           "plot_history: the picture is {}x{} pixels; it needs at least {}x{}", options.width, options.height,
           kMinWidth, kMinHeight);
  std::vector<std::string> keys = options.keys.empty() ? default_keys(history) : options.keys;
  TG_CHECK(!keys.empty(), "plot_history: the history has no figures to draw");
  check_svg_text(options.title, "the title");
  for (const std::string& key : keys) check_svg_text(key, "a figure name");
  std::vector<const std::vector<double>*> series;
  size_t points = 0;
  double lowest = INFINITY, highest = -INFINITY;
  for (const std::string& key : keys) {
    series.push_back(&history[key]);  // throws listing the recorded keys
    points = std::max(points, series.back()->size());
    for (double v : *series.back())
      if (std::isfinite(v)) lowest = std::min(lowest, v), highest = std::max(highest, v);
  }
  if (!(lowest <= highest)) lowest = 0, highest = 1;  // nothing finite: an empty [0, 1] axes

  // Epoch numbers counted from 1; a series longer than the recorded epochs continues the count.
  auto epoch_at = [&](size_t i) {
    return i < history.epochs.size() ? history.epochs[i] + 1.0 : static_cast<double>(i) + 1;
  };
  double first = points ? epoch_at(0) : 1, last = points ? epoch_at(points - 1) : 1;
  for (size_t i = 0; i < points; ++i) first = std::min(first, epoch_at(i)), last = std::max(last, epoch_at(i));
  // A single epoch gets half an epoch either side so its points sit mid-axes.
  double x_lo = first < last ? first : first - 0.5, x_hi = first < last ? last : last + 0.5;
  Axis y = value_axis(lowest, highest);

  // A legend of more rows than the asked height holds makes the picture taller (the axes too),
  // rather than drawing rows past its bottom edge.
  const double legend_bottom = kTop + 12 + 20.0 * static_cast<double>(keys.size()) + 8;
  const double width = options.width, height = std::max<double>(options.height, legend_bottom);
  // Each legend label's estimated width in average glyphs (glyph_units), times their width.
  std::vector<double> label_width;
  double widest = 0;
  for (size_t s = 0; s < keys.size(); ++s) {
    bool drawn = std::any_of(series[s]->begin(), series[s]->end(), [](double v) { return std::isfinite(v); });
    label_width.push_back(kGlyphWidth * (glyph_units(keys[s]) + (drawn ? 0 : 12)));  // " (no values)"
    widest = std::max(widest, label_width.back());
  }
  const double legend_width = std::min(std::max(kLegendWidth, kLegendTextLeft + widest + kLegendTextRight + 4),
                                       std::max(kLegendWidth, kLegendShareMax * width));
  const double label_room = legend_width - 4 - kLegendTextLeft - kLegendTextRight;
  const double x0 = kLeft, x1 = width - legend_width - kGap, y0 = height - kBottom, y1 = kTop;
  auto px = [&](double epoch) { return x0 + (x1 - x0) * (epoch - x_lo) / (x_hi - x_lo); };
  auto py = [&](double v) { return y0 - (y0 - y1) * (v - y.lo) / (y.hi - y.lo); };

  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" "
      "font-family=\"DejaVu Sans, Arial, sans-serif\" font-size=\"13\">\n"
      "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      "<text class=\"title\" x=\"{2}\" y=\"24\" text-anchor=\"middle\" font-size=\"15\" font-weight=\"bold\">{3}</text>\n",
      width, height, (x0 + x1) / 2, escape_xml(options.title));

  // Value grid and labels.
  svg += "<g class=\"y-ticks\">\n";
  for (double v = y.lo; v <= y.hi + y.step / 2; v += y.step) {
    double value = std::abs(v) < y.step / 1e6 ? 0 : v;
    svg += fmt::format("<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{2:.1f}\" y2=\"{1:.1f}\" stroke=\"#e0e0e0\"/>\n"
                       "<text x=\"{3:.1f}\" y=\"{4:.1f}\" text-anchor=\"end\">{5:g}</text>\n",
                       x0, py(value), x1, x0 - 6, py(value) + 4, value);
  }
  svg += "</g>\n";

  // Epoch grid and labels: integers only, at most about 10 of them, the first epoch always.
  double x_step = std::max(1.0, std::ceil(nice_step(std::max(x_hi - x_lo, 1.0), 10)));
  std::vector<double> ticks{first};
  for (double e = std::ceil((first + 1) / x_step) * x_step; e <= last; e += x_step)
    if (e - first >= x_step / 2) ticks.push_back(e);
  svg += "<g class=\"x-ticks\">\n";
  for (double e : ticks)
    svg += fmt::format("<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{0:.1f}\" y2=\"{2:.1f}\" stroke=\"#e0e0e0\"/>\n"
                       "<text x=\"{0:.1f}\" y=\"{3:.1f}\" text-anchor=\"middle\">{4}</text>\n",
                       px(e), y1, y0, y0 + 18, static_cast<long long>(e));
  svg += "</g>\n";
  svg += fmt::format("<rect class=\"axes\" x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"none\" "
                     "stroke=\"#333\"/>\n",
                     x0, y1, x1 - x0, y0 - y1);
  svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">epoch</text>\n", (x0 + x1) / 2, y0 + 40);

  // Curves: one polyline per finite stretch, markers when the epochs are few.
  std::vector<std::string> figures;  // colour index by figure name, in first-seen order
  std::vector<std::string> colours, dashes;
  for (const std::string& key : keys) {
    auto it = std::find(figures.begin(), figures.end(), figure_of(key));
    size_t index = static_cast<size_t>(it - figures.begin());
    if (it == figures.end()) figures.push_back(figure_of(key));
    colours.push_back(kColours[index % std::size(kColours)]);
    dashes.push_back(is_validation(key) ? "" : " stroke-dasharray=\"7 4\"");
  }
  // Training points are rings, validation points smaller dots drawn later: told apart even where
  // a single epoch has no line, and both visible where they coincide.
  const bool marked = points <= kMarkPointsUpTo;
  auto marker = [&](double x, double y, size_t s) {
    return is_validation(keys[s]) ? fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"2.8\"/>\n", x, y)
                                   : fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"4\" stroke-width=\"1.5\" "
                                                 "fill=\"white\"/>\n", x, y);
  };
  std::vector<size_t> drawing_order(keys.size());
  for (size_t s = 0; s < keys.size(); ++s) drawing_order[s] = s;
  std::stable_partition(drawing_order.begin(), drawing_order.end(), [&](size_t s) { return !is_validation(keys[s]); });
  for (size_t s : drawing_order) {
    const std::vector<double>& values = *series[s];
    svg += fmt::format("<g class=\"series\" data-key=\"{}\" stroke=\"{}\" fill=\"{}\">\n", escape_xml(keys[s]),
                       colours[s], colours[s]);
    std::string stretch;
    size_t stretch_points = 0;
    auto flush = [&] {
      if (stretch_points >= 2)
        svg += fmt::format("<polyline fill=\"none\" stroke-width=\"2\"{} points=\"{}\"/>\n", dashes[s], stretch);
      stretch.clear(), stretch_points = 0;
    };
    for (size_t i = 0; i < values.size(); ++i) {
      if (!std::isfinite(values[i])) {
        flush();
        continue;
      }
      stretch += fmt::format("{}{:.1f},{:.1f}", stretch.empty() ? "" : " ", px(epoch_at(i)), py(values[i]));
      ++stretch_points;
      // A lone finite value between gaps would vanish without its marker.
      bool isolated = (i == 0 || !std::isfinite(values[i - 1])) &&
                      (i + 1 == values.size() || !std::isfinite(values[i + 1]));
      if (marked || isolated) svg += marker(px(epoch_at(i)), py(values[i]), s);
    }
    flush();
    svg += "</g>\n";
  }

  // Legend in its own column right of the axes.
  double lx = x1 + kGap, ly = y1;
  svg += fmt::format("<g class=\"legend\">\n<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" "
                     "fill=\"white\" stroke=\"#ccc\"/>\n",
                     lx, ly, legend_width - 4, 12 + 20.0 * static_cast<double>(keys.size()));
  for (size_t s = 0; s < keys.size(); ++s) {
    double row = ly + 18 + 20.0 * static_cast<double>(s);
    bool drawn = std::any_of(series[s]->begin(), series[s]->end(), [](double v) { return std::isfinite(v); });
    std::string label = keys[s] + (drawn ? "" : " (no values)");
    if (label_width[s] > label_room) {
      // As many whole code points as fit before the "…" (one glyph unit).
      double room = std::max(1.0, std::floor(label_room / kGlyphWidth) - 1), used = 0;
      size_t end = 0;
      while (end < label.size()) {
        size_t next = end + 1;
        while (next < label.size() && (static_cast<unsigned char>(label[next]) & 0xC0) == 0x80) ++next;
        used += glyph_units(label.substr(end, next - end));
        if (used > room && end > 0) break;
        end = next;
      }
      label = label.substr(0, end) + "\u2026";
    }
    svg += fmt::format("<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{2:.1f}\" y2=\"{1:.1f}\" stroke=\"{3}\" "
                       "stroke-width=\"2\"{4}/>\n<text x=\"{5:.1f}\" y=\"{6:.1f}\">{7}</text>\n",
                       lx + 8, row, lx + 36, colours[s], dashes[s], lx + kLegendTextLeft, row + 4, escape_xml(label));
    if (marked) svg += fmt::format("<g stroke=\"{0}\" fill=\"{0}\">{1}</g>\n", colours[s], marker(lx + 22, row, s));
  }
  svg += "</g>\n";
  return svg + "</svg>\n";
}

void plot_history(const History& history, const std::string& path, const PlotOptions& options) {
  write_file_atomically(path, history_svg(history, options), "plot_history");
}

}  // namespace nn
