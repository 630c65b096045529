// report_examples - writes the example daily report that docs/ shows
//
// SYNOPSIS
//   report_examples DIR
//
// DESCRIPTION
//   Renders ReportExample (report/report_example.h) with the daemon's own report code and
//   writes DIR/report-example.txt and DIR/report-example.pl.txt (the subject line, a blank
//   line, then the text part, in English and in Polish) and DIR/report-example.html (the
//   English HTML part). Times are shown in UTC, whatever the caller's zone. Existing files are
//   replaced. scripts/report-examples builds this program and runs it on docs/.
//
// SECURITY
//   A tool for the project's own upkeep; it reads nothing and trusts its argument.
//
// DIAGNOSTICS
//   Exit 0 when every file was written; 64 (EX_USAGE) without exactly one argument; 73
//   (EX_CANTCREAT) when a file could not be written, with the file's name on stderr.
#include <stdlib.h>
#include <time.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "report/daily_report.h"
#include "report/report_example.h"

namespace {

bool Write(const std::filesystem::path& file, const std::string& content) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out << content;
  out.close();
  if (!out) std::fprintf(stderr, "report_examples: cannot write %s\n", file.c_str());
  return static_cast<bool>(out);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: report_examples DIR\n");
    return 64;
  }
  // The report shows the daemon's local times; the examples are dated in UTC.
  ::setenv("TZ", "UTC", 1);
  ::tzset();
  const std::filesystem::path dir = argv[1];
  using mailwarden::RenderDailyReport;
  using mailwarden::ReportExample;
  const mailwarden::DailyReport en = RenderDailyReport(ReportExample("en"));
  const mailwarden::DailyReport pl = RenderDailyReport(ReportExample("pl"));
  const bool written =
      Write(dir / "report-example.txt", "Subject: " + en.subject + "\n\n" + en.text) &&
      Write(dir / "report-example.html", en.html) &&
      Write(dir / "report-example.pl.txt", "Subject: " + pl.subject + "\n\n" + pl.text);
  return written ? 0 : 73;
}
