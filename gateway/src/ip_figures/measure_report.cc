// Writes the IP figures as FHIR: a Bundle of type collection (a set of reports produced together, not the result
// of a search: no paging, no search modes) holding one MeasureReport per figure, type summary, status complete,
// measure = the canonical URL of the figure's Measure in the IP package.
#include <cstdio>

#include "figures_internal.h"
#include "planbro/fhir-model/json.h"
#include "planbro/gateway/ip/figures.h"
#include "planbro/gateway/ip/ip_package.h"

namespace planbro::gateway::ip {
namespace {

constexpr std::string_view kPopulationSystem = "http://terminology.hl7.org/CodeSystem/measure-population";

void quoted(std::string& out, std::string_view s) { fhir::writeJsonString(s, out); }

void text(std::string& out, std::string_view key, std::string_view value) {
  out += '"';
  out += key;
  out += "\":";
  quoted(out, value);
}

// A stratum value: a clinical area is a coding of ip-clinical-area, an organisation one of its organisation number
// (Enhetsregisteret); a tertial, a source system (and «ikke angitt») text only.
void codeable(std::string& out, std::string_view stratifier, std::string_view value) {
  out += '{';
  if (stratifier == "clinical-area" && value != "ikke-angitt") {
    out += "\"coding\":[{\"system\":";
    quoted(out, kClinicalAreaSystem);
    out += ",\"code\":";
    quoted(out, value);
    out += "}],";
  }
  if (stratifier == "organization" && value != "ikke-angitt") {
    out += "\"coding\":[{\"system\":\"urn:oid:2.16.578.1.12.4.1.4.101\",\"code\":";
    quoted(out, value);
    out += "}],";
  }
  text(out, "text", value);
  out += '}';
}

void population(std::string& out, std::string_view code, int64_t count) {
  out += "{\"code\":{\"coding\":[{\"system\":";
  quoted(out, kPopulationSystem);
  out += ",\"code\":";
  quoted(out, code);
  out += "}]},\"count\":";
  out += std::to_string(count);
  out += '}';
}

void group(std::string& out, const Group& g) {
  out += "{\"code\":{";
  text(out, "text", g.code);
  out += "},\"population\":[";
  for (size_t i = 0; i < g.populations.size(); ++i) {
    if (i) out += ',';
    population(out, g.populations[i].code, g.populations[i].count);
  }
  out += ']';
  if (g.score) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.4f", *g.score);
    out += ",\"measureScore\":{\"value\":";
    out += buf;
    out += '}';
  }
  if (!g.stratifiers.empty()) {
    out += ",\"stratifier\":[";
    for (size_t s = 0; s < g.stratifiers.size(); ++s) {
      const Stratifier& st = g.stratifiers[s];
      if (s) out += ',';
      out += "{\"code\":[{";
      text(out, "text", st.code);
      out += "}],\"stratum\":[";
      for (size_t i = 0; i < st.strata.size(); ++i) {
        const Stratum& sm = st.strata[i];
        if (i) out += ',';
        out += '{';
        if (sm.components.empty()) {
          out += "\"value\":";
          codeable(out, st.code, sm.value);
        } else {
          out += "\"component\":[";
          for (size_t c = 0; c < sm.components.size(); ++c) {
            if (c) out += ',';
            out += "{\"code\":{";
            text(out, "text", sm.components[c].code);
            out += "},\"value\":";
            codeable(out, sm.components[c].code, sm.components[c].value);
            out += '}';
          }
          out += ']';
        }
        out += ",\"population\":[";
        population(out, g.populations.front().code, sm.count);
        out += "]}";
      }
      out += "]}";
    }
    out += ']';
  }
  out += '}';
}

}  // namespace

std::string measureReportJson(const Figures& figures, const FigureReport& report, std::string_view id,
                              std::string_view note) {
  const std::string date = detail::instantText(figures.computed_at.time_since_epoch().count());
  std::string out;
  out += "{\"resourceType\":\"MeasureReport\",";
  if (!id.empty()) {
    text(out, "id", id);
    out += ',';
  }
  if (!note.empty()) {
    out += "\"extension\":[{";
    text(out, "url", kFiguresDataQualityUrl);
    out += ',';
    text(out, "valueString", note);
    out += "}],";
  }
  if (!id.empty()) {
    out += "\"identifier\":[{";
    text(out, "system", kFiguresReportIdentifierSystem);
    out += ',';
    text(out, "value", report.measure_id + "|" + figures.period.start_text + "|" + figures.period.end_text);
    out += "}],";
  }
  out += "\"status\":\"complete\",\"type\":\"summary\",";
  text(out, "measure", measureUrl(report.measure_id));
  out += ',';
  text(out, "date", date);
  out += ",\"period\":{";
  text(out, "start", figures.period.start_text);
  out += ',';
  text(out, "end", figures.period.end_text);
  out += "},\"group\":[";
  for (size_t g = 0; g < report.groups.size(); ++g) {
    if (g) out += ',';
    group(out, report.groups[g]);
  }
  out += "]}";
  return out;
}

std::string figuresBundleJson(const Figures& figures, const std::vector<StoredReport>* stored, std::string_view base) {
  const std::string date = detail::instantText(figures.computed_at.time_since_epoch().count());
  std::string out;
  out += "{\"resourceType\":\"Bundle\",\"type\":\"collection\",";
  text(out, "timestamp", date);
  out += ",\"entry\":[";
  for (size_t r = 0; r < figures.reports.size(); ++r) {
    if (r) out += ',';
    out += '{';
    if (stored && r < stored->size()) {
      text(out, "fullUrl", std::string(base) + "/MeasureReport/" + (*stored)[r].id);
      out += ",\"resource\":";
      out += (*stored)[r].json;
    } else {
      out += "\"resource\":";
      out += measureReportJson(figures, figures.reports[r]);
    }
    out += '}';
  }
  out += "]}";
  return out;
}

}  // namespace planbro::gateway::ip
