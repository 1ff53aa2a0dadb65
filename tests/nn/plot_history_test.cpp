#include "tapegrad/nn/plot_history.h"

#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <regex>
#include <sstream>

#include "tests/nn/scratch_folder.h"

namespace {

nn::History history_of(std::map<std::string, std::vector<double>> figures) {
  nn::History h;
  h.history = std::move(figures);
  size_t n = 0;
  for (const auto& [key, values] : h.history) n = std::max(n, values.size());
  for (size_t i = 0; i < n; ++i) h.epochs.push_back(static_cast<int>(i));
  return h;
}

std::vector<double> ramp(size_t n, double from, double to) {
  std::vector<double> v;
  for (size_t i = 0; i < n; ++i) v.push_back(from + (to - from) * static_cast<double>(i) / static_cast<double>(std::max<size_t>(n - 1, 1)));
  return v;
}

// Occurrences of `what` in the picture's curves, not counting the legend's samples.
size_t count_in_curves(const std::string& svg, const std::string& what) {
  size_t n = 0, end = svg.find("<g class=\"legend\"");
  for (size_t at = svg.find(what); at < end; at = svg.find(what, at + 1)) ++n;
  return n;
}

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// The text of the <g class="name"> group.
std::string group(const std::string& svg, const std::string& name) {
  size_t begin = svg.find("<g class=\"" + name + "\"");
  REQUIRE(begin != std::string::npos);
  size_t at = begin + 1, end = begin;
  for (int depth = 1; depth > 0;) {  // to the </g> that closes it, past nested groups
    size_t open = svg.find("<g ", at), close = svg.find("</g>", at);
    REQUIRE(close != std::string::npos);
    if (open < close) ++depth, at = open + 1;
    else --depth, at = close + 1, end = close;
  }
  return svg.substr(begin, end - begin);
}

std::vector<std::string> labels(const std::string& text) {
  std::vector<std::string> out;
  std::regex label(R"re(<text[^>]*>([^<]*)</text>)re");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), label); it != std::sregex_iterator(); ++it)
    out.push_back((*it)[1]);
  return out;
}

struct Box {
  double x, y, w, h;
};

Box rect(const std::string& text) {
  std::smatch m;
  REQUIRE(std::regex_search(text, m, std::regex(R"re(<rect[^>]*x="([-0-9.]+)" y="([-0-9.]+)" width="([0-9.]+)" height="([0-9.]+)")re")));
  return {std::stod(m[1]), std::stod(m[2]), std::stod(m[3]), std::stod(m[4])};
}

// Every <tag ...> is closed, in order: the picture parses as XML.
void check_well_formed(const std::string& svg) {
  std::vector<std::string> open;
  std::regex tag(R"re(<(/?)([a-z]+)[^>]*?(/?)>)re");
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), tag); it != std::sregex_iterator(); ++it) {
    const auto& m = *it;
    if (m[3] == "/") continue;
    if (m[1] == "/") {
      REQUIRE(!open.empty());
      CHECK(open.back() == m[2]);
      open.pop_back();
    } else {
      open.push_back(m[2]);
    }
  }
  CHECK(open.empty());
}

}  // namespace

TEST_CASE("plot_history draws every figure on one axes, training dashed and validation solid") {
  nn::History h = history_of({{"loss", ramp(30, 0.9, 0.3)}, {"accuracy", ramp(30, 0.7, 0.9)},
                              {"val_loss", ramp(30, 0.8, 0.35)}, {"val_accuracy", ramp(30, 0.72, 0.88)}});
  std::string svg = nn::history_svg(h);
  check_well_formed(svg);
  CHECK(count(svg, "class=\"axes\"") == 1);
  CHECK(count_in_curves(svg, "<polyline") == 4);
  CHECK(count_in_curves(svg, "stroke-dasharray") == 2);  // the two training curves
  CHECK(count_in_curves(svg, "<circle") == 4 * 30);  // 30 epochs are few enough to mark
  CHECK(count_in_curves(svg, "stroke-width=\"1.5\" fill=\"white\"/>") == 2 * 30);  // training points are rings
  // Legend order as the book's: loss, accuracy, then the validation twins.
  CHECK(labels(group(svg, "legend")) == std::vector<std::string>{"loss", "accuracy", "val_loss", "val_accuracy"});
  // y in [0, 1] as the book draws it.
  std::vector<std::string> y = labels(group(svg, "y-ticks"));
  CHECK(y.front() == "0");
  CHECK(y.back() == "1");
}

TEST_CASE("the x axis is labelled with integer epoch numbers counted from 1") {
  SUBCASE("30 epochs: the first and every fifth") {
    std::string svg = nn::history_svg(history_of({{"loss", ramp(30, 1, 0)}}));
    CHECK(labels(group(svg, "x-ticks")) == std::vector<std::string>{"1", "5", "10", "15", "20", "25", "30"});
  }
  SUBCASE("3 epochs: each") {
    std::string svg = nn::history_svg(history_of({{"loss", ramp(3, 1, 0)}}));
    CHECK(labels(group(svg, "x-ticks")) == std::vector<std::string>{"1", "2", "3"});
  }
  SUBCASE("200 epochs: at most about ten labels, all integers") {
    std::string svg = nn::history_svg(history_of({{"loss", ramp(200, 1, 0)}}));
    std::vector<std::string> x = labels(group(svg, "x-ticks"));
    CHECK(x.size() <= 11);
    CHECK(x.front() == "1");
    CHECK(x.back() == "200");
    for (const std::string& label : x) CHECK(std::regex_match(label, std::regex("[0-9]+")));
    CHECK(count_in_curves(svg, "<circle") == 0);  // too many to mark
  }
  SUBCASE("epochs recorded from a later start keep their numbers") {
    nn::History h = history_of({{"loss", {0.5, 0.4}}});
    h.epochs = {9, 10};
    CHECK(labels(group(nn::history_svg(h), "x-ticks")) == std::vector<std::string>{"10", "11"});
  }
}

TEST_CASE("a single epoch is drawn as markers at its epoch number") {
  std::string svg = nn::history_svg(history_of({{"loss", {0.6}}, {"val_loss", {0.7}}}));
  check_well_formed(svg);
  CHECK(count_in_curves(svg, "<polyline") == 0);
  CHECK(count_in_curves(svg, "<circle") == 2);
  CHECK(count_in_curves(svg, "stroke-width=\"1.5\" fill=\"white\"/>") == 1);  // loss hollow, val_loss filled: told apart
  CHECK(labels(group(svg, "x-ticks")) == std::vector<std::string>{"1"});
  // The marker sits mid-axes, not on an edge.
  Box axes = rect(svg.substr(svg.find("class=\"axes\"") - 6));
  std::smatch m;
  REQUIRE(std::regex_search(svg, m, std::regex(R"re(<circle cx="([0-9.]+)")re")));
  CHECK(std::stod(m[1]) == doctest::Approx(axes.x + axes.w / 2).epsilon(0.01));
}

TEST_CASE("losses above 1 widen the y axis to a rounded maximum that holds them") {
  std::string svg = nn::history_svg(history_of({{"loss", {2.7, 1.3, 0.6}}, {"accuracy", {0.3, 0.6, 0.8}}}));
  std::vector<std::string> y = labels(group(svg, "y-ticks"));
  CHECK(y.front() == "0");
  double top = std::stod(y.back());
  CHECK(top >= 2.7);
  CHECK(top <= 3.5);
  // Every point lies inside the axes.
  Box axes = rect(svg.substr(svg.find("class=\"axes\"") - 6));
  std::regex circle(R"re(<circle cx="([0-9.]+)" cy="([0-9.]+)")re");
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), circle); it != std::sregex_iterator(); ++it) {
    double cy = std::stod((*it)[2]);
    CHECK(cy >= axes.y - 0.1);
    CHECK(cy <= axes.y + axes.h + 0.1);
  }
}

TEST_CASE("a negative figure moves the y axis below 0") {
  std::string svg = nn::history_svg(history_of({{"score", {-0.4, 0.2}}}));
  std::vector<std::string> y = labels(group(svg, "y-ticks"));
  CHECK(std::stod(y.front()) <= -0.4);
  CHECK(std::stod(y.back()) == 1);
}

TEST_CASE("NaN and infinite values break a curve into the finite stretches either side") {
  double nan = std::nan(""), inf = INFINITY;
  std::string svg = nn::history_svg(history_of({{"loss", {0.9, 0.8, nan, 0.6, 0.5, inf, 0.4}}}));
  check_well_formed(svg);
  CHECK(count_in_curves(svg, "<polyline") == 2);  // [0.9, 0.8] and [0.6, 0.5]; 0.4 alone is a marker
  CHECK(count_in_curves(svg, "<circle") == 5);
  CHECK(svg.find("nan") == std::string::npos);
  CHECK(svg.find("inf") == std::string::npos);
  SUBCASE("a figure with no finite value is named so in the legend") {
    std::string none = nn::history_svg(history_of({{"loss", {nan, nan}}, {"accuracy", {0.5, 0.6}}}));
    CHECK(labels(group(none, "legend")) == std::vector<std::string>{"loss (no values)", "accuracy"});
  }
}

TEST_CASE("the legend has a column of its own that does not overlap the axes") {
  for (size_t keys : {1, 4, 8, 9, 30}) {
    std::map<std::string, std::vector<double>> figures;
    for (size_t k = 0; k < keys; ++k) figures["figure_" + std::to_string(k)] = ramp(10, 1, 0);
    std::string svg = nn::history_svg(history_of(figures), {.width = 400, .height = 240});
    Box axes = rect(svg.substr(svg.find("class=\"axes\"") - 6));
    Box legend = rect(group(svg, "legend"));
    CAPTURE(keys);
    CHECK(legend.x >= axes.x + axes.w);      // right of the axes
    CHECK(legend.x + legend.w <= 400);       // inside the picture
    // Up to 8 keys fit in 240 px; more make the picture taller, never rows past its edge.
    const double height = std::stod(svg.substr(svg.find("height=\"") + 8));
    CHECK(height == (keys <= 8 ? 240 : doctest::Approx(legend.y + legend.h + 8)));
    CHECK(legend.y + legend.h <= height);
    CHECK(count(group(svg, "legend"), "<text") == keys);
    CHECK(axes.y + axes.h <= height);
  }
}

TEST_CASE("a long legend label widens the legend's column, or ends in an ellipsis inside it, never cut at the edge") {
  const std::string key = "val_sparse_top_k_categorical_accuracy_of_the_second_head";  // 56 characters
  nn::History h = history_of({{"loss", ramp(10, 1, 0)}, {key, ramp(10, 0, 1)}});
  SUBCASE("a wide picture widens the column until the label fits, and the axes stay left of it") {
    std::string svg = nn::history_svg(h, {.width = 1400, .height = 300});
    Box axes = rect(svg.substr(svg.find("class=\"axes\"") - 6));
    Box legend = rect(group(svg, "legend"));
    CHECK(legend.w >= 42 + 8.0 * static_cast<double>(key.size()));
    CHECK(legend.x >= axes.x + axes.w);
    CHECK(legend.x + legend.w <= 1400);
    CHECK(labels(group(svg, "legend")) == std::vector<std::string>{"loss", key});
  }
  SUBCASE("a narrow picture keeps the column inside and ends the label in an ellipsis that fits") {
    std::string svg = nn::history_svg(h, {.width = 400, .height = 240});
    Box legend = rect(group(svg, "legend"));
    CHECK(legend.x + legend.w <= 400);
    std::vector<std::string> shown = labels(group(svg, "legend"));
    REQUIRE(shown.size() == 2);
    CHECK(shown[0] == "loss");  // short labels are left alone
    const std::string ellipsis = "\u2026";
    REQUIRE(shown[1].size() > ellipsis.size());
    CHECK(shown[1].ends_with(ellipsis));
    std::string kept = shown[1].substr(0, shown[1].size() - ellipsis.size());
    CHECK(key.starts_with(kept));
    CHECK(kept.size() >= 10);
    // Its estimated width (8 px a glyph, from x = legend.x + 42) stays inside the column.
    CHECK(legend.x + 42 + 8.0 * static_cast<double>(kept.size() + 1) <= legend.x + legend.w);
  }
}

TEST_CASE("wide characters count double in the legend's room, and names SVG cannot show are refused") {
  // 24 CJK ideographs (3 UTF-8 bytes each, full-width glyphs): at 320 pixels they must end in an
  // ellipsis within the column, counting each as two average glyphs.
  std::string wide;
  for (int i = 0; i < 24; ++i) wide += "\u691c";
  std::string svg = nn::history_svg(history_of({{wide, ramp(5, 1, 0)}}), {.width = 320, .height = 200});
  Box legend = rect(group(svg, "legend"));
  std::vector<std::string> shown = labels(group(svg, "legend"));
  REQUIRE(shown.size() == 1);
  REQUIRE(shown[0].ends_with("\u2026"));
  size_t ideographs = (shown[0].size() - 3) / 3;
  CHECK(ideographs >= 3);
  CHECK(legend.x + 42 + 8.0 * (2.0 * static_cast<double>(ideographs) + 1) <= legend.x + legend.w);
  CHECK(legend.x + legend.w <= 320);
  for (const std::string& bad : {std::string("a\x01b"), std::string("bad\xff"), std::string("tab\there")}) {
    CAPTURE(bad);
    CHECK_THROWS_WITH_AS(nn::history_svg(history_of({{bad, ramp(5, 1, 0)}})), doctest::Contains("plot_history: "),
                         ad::Error);
  }
  CHECK_THROWS_WITH_AS(nn::history_svg(history_of({{"loss", ramp(5, 1, 0)}}), {.title = "bell\a"}),
                       doctest::Contains("the title"), ad::Error);
}

TEST_CASE("options choose the keys, their order and the title; text is escaped") {
  nn::History h = history_of({{"loss", {1, 0.5}}, {"val_loss", {1.1, 0.6}}, {"accuracy", {0.5, 0.7}}});
  std::string svg = nn::history_svg(h, {.title = "loss <&> more", .keys = {"val_loss", "loss"}});
  CHECK(labels(group(svg, "legend")) == std::vector<std::string>{"val_loss", "loss"});
  CHECK(count_in_curves(svg, "<polyline") == 2);
  CHECK(svg.find(">loss &lt;&amp;&gt; more<") != std::string::npos);
}

TEST_CASE("plot_history refuses an unknown key, an empty history and a tiny picture, naming them") {
  nn::History h = history_of({{"loss", {1, 0.5}}});
  CHECK_THROWS_WITH_AS(nn::history_svg(h, {.keys = {"accuracy"}}), doctest::Contains("'accuracy'"), ad::Error);
  CHECK_THROWS_WITH_AS(nn::history_svg(nn::History{}), doctest::Contains("no figures"), ad::Error);
  CHECK_THROWS_WITH_AS(nn::history_svg(h, {.width = 100}), doctest::Contains("100x440"), ad::Error);
}

TEST_CASE("plot_history writes the picture to a file") {
  tests::ScratchFolder folder;
  std::string path = folder.file("curves.svg");
  nn::plot_history(history_of({{"loss", {1, 0.5}}}), path);
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  CHECK(text.str() == nn::history_svg(history_of({{"loss", {1, 0.5}}})));
  CHECK(folder.entries() == std::vector<std::string>{"curves.svg"});
  // A file that cannot be written is refused by the function the user called.
  std::string missing = folder.file("no/such/folder/curves.svg");
  CHECK_THROWS_WITH_AS(nn::plot_history(history_of({{"loss", {1, 0.5}}}), missing),
                       doctest::Contains(("plot_history: cannot create a temporary file beside '" + missing).c_str()),
                       ad::Error);
}
