// app/csv.hpp: the RFC 4180 reader and writer.
#include "app/csv.hpp"

#include <gtest/gtest.h>

namespace latchkey::app::csv {
namespace {

using Fields = std::vector<std::string>;

TEST(Csv, PlainRecordsWithCrlfLfAndNoFinalLineEnd) {
  auto r = parse("a,b,c\r\n1,2,3\nx,,z");
  ASSERT_EQ(r.size(), 3U);
  EXPECT_EQ(r[0].fields, (Fields{"a", "b", "c"}));
  EXPECT_EQ(r[1].fields, (Fields{"1", "2", "3"}));
  EXPECT_EQ(r[2].fields, (Fields{"x", "", "z"}));
  EXPECT_EQ(r[2].line, 3U);
  EXPECT_FALSE(r[2].error.has_value());
}

TEST(Csv, QuotedFieldsHoldCommasQuotesAndLineEnds) {
  auto r = parse("\"a,b\",\"say \"\"hi\"\"\",\"two\r\nlines\"\r\nnext,\"\"\r\n");
  ASSERT_EQ(r.size(), 2U);
  EXPECT_EQ(r[0].fields, (Fields{"a,b", "say \"hi\"", "two\r\nlines"}));
  EXPECT_EQ(r[1].line, 3U);  // the record above spans lines 1 and 2
  EXPECT_EQ(r[1].fields, (Fields{"next", ""}));
}

TEST(Csv, ByteOrderMarkAndBlankLinesAreSkipped) {
  auto r = parse("\xEF\xBB\xBFid,name\r\n\r\n\nuser_1,Ada\r\n");
  ASSERT_EQ(r.size(), 2U);
  EXPECT_EQ(r[0].fields, (Fields{"id", "name"}));
  EXPECT_EQ(r[1].fields, (Fields{"user_1", "Ada"}));
  EXPECT_EQ(r[1].line, 4U);
  EXPECT_TRUE(parse("").empty());
  EXPECT_TRUE(parse("\xEF\xBB\xBF").empty());
}

TEST(Csv, AMalformedRecordIsReportedWithItsLineAndTheNextOnesStillRead) {
  auto r = parse("ok,1\nbad\"quote,2\n\"closed\"junk,3\nok,4\n\"never closed,5\nlost,6\n");
  ASSERT_EQ(r.size(), 5U);
  EXPECT_EQ(r[0].fields, (Fields{"ok", "1"}));
  EXPECT_EQ(r[1].line, 2U);
  EXPECT_EQ(r[1].error, "a quote inside an unquoted field");
  EXPECT_TRUE(r[1].fields.empty());
  EXPECT_EQ(r[2].line, 3U);
  EXPECT_EQ(r[2].error, "unexpected character after a closing quote");
  EXPECT_EQ(r[3].fields, (Fields{"ok", "4"}));
  EXPECT_EQ(r[3].line, 4U);
  EXPECT_EQ(r[4].line, 5U);
  EXPECT_EQ(r[4].error, "a quoted field is not closed before the end of the file");
}

TEST(Csv, LimitsRefuseTheRecordOnly) {
  Limits tight{.max_field_bytes = 4, .max_fields = 3};
  auto r = parse("abcde,1\n\"abcde\nstill\",2\na,b,c,d\nfine\n", tight);
  ASSERT_EQ(r.size(), 4U);
  EXPECT_TRUE(r[0].error.has_value());
  EXPECT_TRUE(r[1].error.has_value());
  EXPECT_EQ(r[1].line, 2U);
  EXPECT_TRUE(r[2].error.has_value());
  EXPECT_EQ(r[2].line, 4U);
  EXPECT_EQ(r[3].fields, (Fields{"fine"}));
  EXPECT_EQ(r[3].line, 5U);
}

// Fuzz finding (fuzz/corpus/csv/regress-escaped-quotes-limit): a quoted field made longer by ""
// escapes was not held to max_field_bytes, since only the other bytes were counted.
TEST(Csv, EscapedQuotesCountTowardsTheFieldLimit) {
  Limits tight{.max_field_bytes = 4, .max_fields = 3};
  auto r = parse(
      "\"\"\"\"\"\"\"\"\"\"\"\",x\n\"ab\"\"\"\"\",y\n\"\"\"\"\"\"\"\"\"\"\"\"\"\"\nnext\n", tight);
  ASSERT_EQ(r.size(), 4U);
  EXPECT_EQ(r[0].error, "a field is longer than 4 bytes");  // five quotes
  EXPECT_EQ(r[0].line, 1U);
  EXPECT_EQ(r[1].fields, (Fields{"ab\"\"", "y"}));  // exactly at the limit
  EXPECT_EQ(r[2].error, "a field is longer than 4 bytes");
  EXPECT_EQ(r[2].line, 3U);
  EXPECT_EQ(r[3].fields, (Fields{"next"}));
  EXPECT_EQ(r[3].line, 4U);
}

TEST(Csv, WriterRoundTrips) {
  const std::vector<Fields> records = {
      {"plain", "with,comma", "with \"quote\"", "line\nend", "cr\r", ""}, {""}, {"", ""}};
  std::string text;
  for (const auto& f : records) {
    text += write_record(f);
  }
  auto r = parse(text);
  ASSERT_EQ(r.size(), records.size());
  for (std::size_t i = 0; i < records.size(); ++i) {
    EXPECT_EQ(r[i].fields, records[i]) << i;
  }
  EXPECT_EQ(write_record({"a", "b"}), "a,b\r\n");
}

}  // namespace
}  // namespace latchkey::app::csv
