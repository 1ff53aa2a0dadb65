// Learning curves as an SVG picture: one panel per figure (loss, accuracy, ...), the training
// curve and its validation twin in each, per epoch — the plot Keras users draw from History.
//
//   std::string svg = learning_curves_svg(history.history);   // {"loss": [...], "val_loss": [...]}
//   write_text_file("learning_curves.svg", svg);
#pragma once
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <vector>

namespace apps {

inline std::string learning_curves_svg(const std::map<std::string, std::vector<double>>& history) {
  std::vector<std::string> panels;  // training figures that have values
  for (const auto& [name, values] : history)
    if (name.rfind("val_", 0) != 0 && !values.empty()) panels.push_back(name);
  constexpr double kPanelWidth = 420, kHeight = 300, kMargin = 50;
  double width = kPanelWidth * static_cast<double>(std::max<size_t>(panels.size(), 1));
  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" "
      "font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n",
      width, kHeight);
  for (size_t p = 0; p < panels.size(); ++p) {
    const std::string& name = panels[p];
    std::vector<const std::vector<double>*> series{&history.at(name)};
    auto val = history.find("val_" + name);
    if (val != history.end() && !val->second.empty()) series.push_back(&val->second);
    double lo = INFINITY, hi = -INFINITY;
    size_t epochs = 0;
    for (auto* s : series) {
      epochs = std::max(epochs, s->size());
      for (double v : *s)
        if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
    }
    if (!(lo <= hi)) lo = 0, hi = 1;
    if (hi - lo < 1e-9) lo -= 0.5, hi += 0.5;
    double x0 = static_cast<double>(p) * kPanelWidth + kMargin, x1 = (static_cast<double>(p) + 1) * kPanelWidth - 20;
    double y0 = kHeight - kMargin, y1 = 30;
    auto px = [&](size_t i) { return epochs > 1 ? x0 + (x1 - x0) * static_cast<double>(i) / static_cast<double>(epochs - 1) : (x0 + x1) / 2; };
    auto py = [&](double v) { return y0 - (y0 - y1) * (v - lo) / (hi - lo); };
    svg += fmt::format("<text x=\"{}\" y=\"18\" text-anchor=\"middle\" font-weight=\"bold\">{}</text>\n", (x0 + x1) / 2, name);
    svg += fmt::format("<polyline fill=\"none\" stroke=\"black\" points=\"{},{} {},{} {},{}\"/>\n", x0, y1, x0, y0, x1, y0);
    for (int t = 0; t <= 4; ++t) {  // value ticks
      double v = lo + (hi - lo) * t / 4.0;
      svg += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{:.3g}</text>\n", x0 - 4, py(v) + 4, v);
      svg += fmt::format("<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#ddd\"/>\n", x0, py(v), x1, py(v));
    }
    svg += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">epoch (1-{})</text>\n", (x0 + x1) / 2, y0 + 30, epochs);
    const char* colours[] = {"#1f77b4", "#ff7f0e"};
    const char* labels[] = {"training", "validation"};
    for (size_t s = 0; s < series.size(); ++s) {
      std::string points;
      for (size_t i = 0; i < series[s]->size(); ++i)
        if (std::isfinite((*series[s])[i])) points += fmt::format("{:.1f},{:.1f} ", px(i), py((*series[s])[i]));
      svg += fmt::format("<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"2\" points=\"{}\"/>\n", colours[s], points);
      svg += fmt::format("<text x=\"{}\" y=\"{}\" fill=\"{}\">{}</text>\n", x1 - 80, y1 + 14 + 16 * static_cast<double>(s), colours[s], labels[s]);
    }
  }
  return svg + "</svg>\n";
}

}  // namespace apps
