#include "tapegrad/datasets/csv.h"

#include <doctest/doctest.h>

#include <sys/stat.h>

#include <random>

#include <fmt/format.h>

#include "tapegrad/autodiff/error.h"
#include "files.h"

using datasets::CsvOptions;
using datasets::parse_csv;

namespace {

std::string error_of(std::string_view text, const CsvOptions& options = {}) {
  try {
    parse_csv(text, options, "t.csv");
  } catch (const ad::Error& error) {
    return error.what();
  }
  return "no error";
}

}  // namespace

TEST_CASE("load_csv picks the target column by name and keeps the others in file order") {
  datasets::CsvTable table = parse_csv("a,price,b\n1,10,2\n3,30,4\n", {.target = "price"});
  CHECK(table.feature_names == std::vector<std::string>{"a", "b"});
  CHECK(table.target_name == "price");
  CHECK(table.features.shape() == ad::Shape{2, 2});
  CHECK(table.features.to_vector() == std::vector<float>{1, 2, 3, 4});
  CHECK(table.target.to_vector() == std::vector<float>{10, 30});
}

TEST_CASE("without a target every column is a feature") {
  datasets::CsvTable table = parse_csv("x,y\n1,2\n");
  CHECK(table.feature_names == std::vector<std::string>{"x", "y"});
  CHECK(table.features.to_vector() == std::vector<float>{1, 2});
  CHECK(table.target.size() == 0);
  CHECK(table.target_name.empty());
}

TEST_CASE("load_csv reads quoted fields, signs, exponents, spaces and other delimiters") {
  SUBCASE("quoted fields with delimiters and doubled quotes inside") {
    datasets::CsvTable table =
        parse_csv("\"x, y\",\"say \"\"hi\"\"\",\"price\"\n\"1.5\",2,\"3\"\n-4e2,+5, 6 \n", {.target = "price"});
    CHECK(table.feature_names == std::vector<std::string>{"x, y", "say \"hi\""});
    CHECK(table.features.to_vector() == std::vector<float>{1.5f, 2, -400, 5});
    CHECK(table.target.to_vector() == std::vector<float>{3, 6});
  }
  SUBCASE("semicolons") {
    CHECK(parse_csv("a;b\n1;2\n", {.delimiter = ';'}).features.to_vector() == std::vector<float>{1, 2});
  }
  SUBCASE("a byte order mark before the header") {
    CHECK(parse_csv("\xEF\xBB\xBF"
                    "a,b\n1,2\n",
                    {.target = "a"})
              .target.to_vector() == std::vector<float>{1});
  }
}

TEST_CASE("line ends may be LF, CRLF or missing at the end, and blank lines are skipped") {
  const std::vector<float> expected = {1, 2, 3, 4};
  // A line of spaces and tabs only is blank too.
  for (std::string_view text : {"a,b\n1,2\n3,4\n", "a,b\r\n1,2\r\n3,4\r\n", "a,b\n1,2\n3,4",
                                "a,b\r\n\r\n1,2\n\n3,4\n\n", "a,b\n1,2\n  \t\n3,4\n \n", "  \na,b\n1,2\n3,4\n\t"}) {
    CAPTURE(text);
    CHECK(parse_csv(text).features.to_vector() == expected);
  }
}

TEST_CASE("every broken table gives an error with the file, the 1-based line and column, and the rule") {
  struct Case {
    std::string_view text;
    const char* target;  // "" for none
    const char* problem;
  };
  const Case cases[] = {
      {"", "", "the file is empty; expected a header line of column names"},
      {"\n\r\n\n", "", "the file is empty; expected a header line of column names"},
      {"a,b\n", "", "there is a header (2 columns) but no data rows"},
      {"a,b\r\n\r\n", "", "there is a header (2 columns) but no data rows"},
      {"a,b,c\n1,2,3\n4,5\n", "", "line 3 has 2 fields, the header has 3"},
      {"a,b\n1,2,3\n", "", "line 2 has 3 fields, the header has 2"},
      {"a,b\n1,2\n3,abc\n", "", "line 3, column 2 (\"b\"): \"abc\" is not a number"},
      {"a,b\n12abc,2\n", "", "line 2, column 1 (\"a\"): \"12abc\" is not a number"},
      {"a,b\n1,\n", "", "line 2, column 2 (\"b\"): empty cell; missing values are not supported"},
      {"a,b\n\"\",1\n", "", "line 2, column 1 (\"a\"): empty cell; missing values are not supported"},
      {"a\nnan\n", "", "line 2, column 1 (\"a\"): \"nan\" is not a finite number"},
      {"a\n-inf\n", "", "line 2, column 1 (\"a\"): \"-inf\" is not a finite number"},
      {"a\n1e39\n", "", "line 2, column 1 (\"a\"): 1e39 is beyond the float range"},
      {"a,b\n1,\"2\n3,4\n", "", "line 2: a quoted field is never closed"},
      {"a,b\n1,2\"3\n", "", "line 2: a quote inside an unquoted field (quote the whole field and double the quote)"},
      {"a,b\n\"1\"x,2\n", "", "line 2: unexpected 'x' after the closing quote of a field"},
      {"a,b\n1,2\n", "price", "no column named \"price\"; the columns are \"a\", \"b\""},
      {"a,a\n1,2\n", "", "line 1: the column name \"a\" appears twice (columns 1 and 2)"},
      {"a,,c\n1,2,3\n", "", "line 1, column 2: the header has an empty column name"},
      {"price\n1\n", "price", "the target \"price\" is the only column; no features are left"},
      // Line numbers count blank lines, CRLF and the line breaks inside quoted fields.
      {"a,b\r\n\r\n1,2\r\nx,3\r\n", "", "line 4, column 1 (\"a\"): \"x\" is not a number"},
      {"\"long\nname\",b\n1,2\n3,y\n", "", "line 4, column 2 (\"b\"): \"y\" is not a number"},
      // Line ends and control bytes in a cell are shown escaped, not raw.
      {"a,b\n\"1\n\n\",2\n", "", "line 2, column 1 (\"a\"): \"1\\n\\n\" is not a number"},
      {"a,b\n+-5,2\n", "", "line 2, column 1 (\"a\"): \"+-5\" is not a number"},
      {"a,b\n++5,2\n", "", "line 2, column 1 (\"a\"): \"++5\" is not a number"},
      {"\"a\n\nb\",c\n1,2\n3\n", "", "line 5 has 1 field, the header has 2"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.text);
    CHECK(error_of(c.text, {.target = c.target}) == std::string("load_csv: t.csv: ") + c.problem);
  }
}

TEST_CASE("load_csv reads a file from disk and names it in errors") {
  datasets_test::TempFolder folder;
  std::string path = folder.file("houses.csv");
  tests::write_text(path, "rooms,price\r\n3,250000\r\n4,310000\r\n");
  datasets::CsvTable table = datasets::load_csv(path, {.target = "price"});
  CHECK(table.features.to_vector() == std::vector<float>{3, 4});
  CHECK(table.target.to_vector() == std::vector<float>{250000, 310000});

  tests::write_text(path, "rooms,price\n3,n/a\n");
  CHECK_THROWS_WITH_AS(datasets::load_csv(path, {.target = "price"}),
                       ("load_csv: " + path + ": line 2, column 2 (\"price\"): \"n/a\" is not a number").c_str(),
                       ad::Error);
  std::string absent = folder.file("absent.csv");
  CHECK_THROWS_WITH_AS(datasets::load_csv(absent), ("load_csv: " + absent + ": no such file").c_str(), ad::Error);
  CHECK_THROWS_WITH_AS(datasets::load_csv(folder.path().string()),
                       ("load_csv: " + folder.path().string() + ": is a folder, not a file").c_str(), ad::Error);
  // A FIFO (as a device such as /dev/zero) is refused before it is opened: opening would wait
  // for a writer, and a device is read without end.
  std::string fifo = folder.file("pipe.csv");
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  CHECK_THROWS_WITH_AS(datasets::load_csv(fifo),
                       ("load_csv: " + fifo + ": not a regular file (a device, pipe or socket)").c_str(), ad::Error);
}

// The duplicate check compared each name with every earlier one: 100,000 columns took seconds.
TEST_CASE("load_csv finds a repeated column name in a very wide header, naming both columns") {
  std::string header;
  for (int c = 0; c < 200000; ++c) header += fmt::format("{}c{}", c ? "," : "", c);
  std::string row;
  for (int c = 0; c < 200000; ++c) row += c ? ",1" : "1";
  CHECK(parse_csv(header + "\n" + row + "\n", {}, "t.csv").feature_names.size() == 200000);
  CHECK(error_of(header + ",c123456\n") ==
        "load_csv: t.csv: line 1: the column name \"c123456\" appears twice (columns 123457 and 200001)");
}

TEST_CASE("random text made of CSV's special characters either parses or throws ad::Error") {
  const char alphabet[] = {'a', '1', '2', '.', '-', 'e', ',', ';', '"', ' ', '\n', '\r', '\t', '+'};
  std::mt19937 random(12345);
  std::uniform_int_distribution<size_t> pick(0, sizeof(alphabet) - 1), length(0, 40);
  int parsed = 0, rejected = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    std::string text;
    for (size_t i = length(random); i > 0; --i) text += alphabet[pick(random)];
    try {
      datasets::CsvTable table = parse_csv(text);
      CHECK(table.features.dim(1) == static_cast<int64_t>(table.feature_names.size()));
      ++parsed;
    } catch (const ad::Error& error) {
      CHECK(std::string(error.what()).starts_with("load_csv: <text>: "));
      ++rejected;
    }
  }
  CHECK(parsed + rejected == 3000);
  CHECK(rejected > 0);
}

TEST_CASE("load_csv refuses a delimiter that ends fields or lines, naming it and why") {
  for (char delimiter : {'\n', '\r', '"'}) {
    CAPTURE(static_cast<int>(delimiter));
    CHECK_THROWS_WITH_AS(parse_csv("a,b\n1,2\n", {.delimiter = delimiter}, "t.csv"),
                         doctest::Contains(fmt::format("load_csv: t.csv: the delimiter {:?} cannot be a quote or a "
                                                       "line end: those end fields and lines",
                                                       delimiter)
                                               .c_str()),
                         ad::Error);
  }
}
