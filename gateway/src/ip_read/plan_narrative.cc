// The sections follow what patients and relatives ask for first (D0): what the plan is for (the main goal), what
// is being done and by whom, when it is looked at again, and whom to call — the coordinator, the contact list and
// the crisis plan.
#include "planbro/gateway/ip/plan_narrative.h"

#include <map>
#include <vector>

#include "planbro/gateway/ip/ip_package.h"
#include "plan_reading.h"

namespace planbro::gateway::ip {
namespace {

using detail::textOf;


void escapeInto(std::string& out, std::string_view text) {
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default:
        // Control characters are not allowed in XML 1.0 (except tab and newline): dropped.
        if (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n') break;
        out += c;
    }
  }
}

std::string escaped(std::string_view text) {
  std::string out;
  escapeInto(out, text);
  return out;
}

std::string_view lifecycleLabel(std::string_view code) {
  static const std::map<std::string_view, std::string_view> labels = {
      {"need-reported", "Behov meldt"},  {"consented", "Samtykke gitt"},   {"started", "Påbegynt"},
      {"finished", "Ferdig utarbeidet"}, {"on-hold", "Satt på vent"},      {"under-revision", "Under revisjon"},
      {"ended", "Avsluttet"}};
  auto it = labels.find(code);
  return it == labels.end() ? code : it->second;
}

std::string_view measureStatusLabel(std::string_view code) {
  static const std::map<std::string_view, std::string_view> labels = {
      {"wished", "Ønsket"},  {"planned", "Planlagt"},   {"applied-for", "Søkt om"},
      {"started", "Påbegynt"}, {"on-hold", "Satt på vent"}, {"ended", "Avsluttet"}};
  auto it = labels.find(code);
  return it == labels.end() ? code : it->second;
}

// A CodeableConcept (or Coding) as words: its text, a coding's display, else its code.
std::string conceptText(const fhir::JsonValue* codeable, const NarrativeSources* sources = nullptr) {
  if (!codeable) return {};
  if (std::string_view t = textOf(codeable, "text"); !t.empty()) return std::string(t);
  if (std::string_view d = textOf(codeable, "display"); !d.empty()) return std::string(d);
  const fhir::JsonValue* codings = codeable->find("coding");
  for (const fhir::JsonValue& c : codings ? codings->items() : std::span<const fhir::JsonValue>{}) {
    if (std::string_view d = textOf(&c, "display"); !d.empty()) return std::string(d);
  }
  for (const fhir::JsonValue& c : codings ? codings->items() : std::span<const fhir::JsonValue>{}) {
    std::string_view code = textOf(&c, "code");
    if (code.empty()) continue;
    if (sources && sources->display) {
      if (std::string d = sources->display(textOf(&c, "system"), code); !d.empty()) return d;
    }
    return std::string(code);
  }
  if (std::string_view code = textOf(codeable, "code"); !code.empty()) return std::string(code);
  return {};
}

std::string rolesText(const fhir::JsonValue* roles, const NarrativeSources* sources) {
  std::string out;
  for (const fhir::JsonValue& r : roles ? roles->items() : std::span<const fhir::JsonValue>{}) {
    std::string t = conceptText(&r, sources);
    if (t.empty()) continue;
    if (!out.empty()) out += ", ";
    out += t;
  }
  return out;
}

std::string telecomText(const fhir::JsonValue* telecom) {
  std::string out;
  for (const fhir::JsonValue& t : telecom ? telecom->items() : std::span<const fhir::JsonValue>{}) {
    std::string_view value = textOf(&t, "value");
    if (value.empty()) continue;
    std::string_view system = textOf(&t, "system");
    if (!out.empty()) out += ", ";
    if (system == "phone") out += "telefon ";
    else if (system == "email") out += "e-post ";
    else if (system == "sms") out += "SMS ";
    out += value;
  }
  return out;
}

class Builder {
 public:
  Builder(const fhir::JsonValue& plan, const NarrativeSources& sources) : plan_(plan), sources_(sources) {}

  std::string build() {
    out_ = R"(<div xmlns="http://www.w3.org/1999/xhtml">)";
    header();
    goals();
    measures();
    people();
    crisisPlan();
    out_ += "</div>";
    return std::move(out_);
  }

 private:
  const fhir::JsonValue* resolve(const fhir::JsonValue* reference) const {
    std::string_view r = textOf(reference, "reference");
    if (r.empty() || !sources_.resolve) return nullptr;
    return sources_.resolve(r);
  }

  // Who a reference names, in words: the resource's name, else the reference's display.
  std::string nameOf(const fhir::JsonValue* reference) const {
    if (const fhir::JsonValue* r = resolve(reference)) {
      std::string_view type = textOf(r, "resourceType");
      if (type == "Organization" || type == "CareTeam") {
        if (std::string_view n = textOf(r, "name"); !n.empty()) return std::string(n);
      } else if (type == "PractitionerRole") {
        std::string who = nameOf(r->find("practitioner"));
        std::string org = nameOf(r->find("organization"));
        if (!who.empty() && !org.empty()) return who + " (" + org + ")";
        if (!who.empty() || !org.empty()) return who.empty() ? org : who;
      } else if (std::string n = detail::humanNameText(r->find("name")); !n.empty()) {
        return type == "Patient" ? n + " (brukeren)" : n;
      }
    }
    return std::string(textOf(reference, "display"));
  }

  std::string telecomOf(const fhir::JsonValue* reference) const {
    const fhir::JsonValue* r = resolve(reference);
    if (!r) return {};
    std::string t = telecomText(r->find("telecom"));
    if (t.empty() && textOf(r, "resourceType") == "PractitionerRole") return telecomOf(r->find("practitioner"));
    return t;
  }

  void header() {
    std::string_view title = textOf(&plan_, "title");
    out_ += "<h2>";
    escapeInto(out_, title.empty() ? std::string_view("Individuell plan") : title);
    out_ += "</h2><p>";
    std::string_view lifecycle = detail::lifecycleCode(plan_);
    out_ += "Status: ";
    escapeInto(out_, lifecycle.empty() ? std::string_view("ikke oppgitt") : lifecycleLabel(lifecycle));
    out_ += '.';
    if (const fhir::JsonValue* period = plan_.find("period")) {
      std::string_view start = textOf(period, "start"), end = textOf(period, "end");
      if (!start.empty() || !end.empty()) {
        out_ += " Planperiode: ";
        escapeInto(out_, start.empty() ? std::string_view("?") : start);
        out_ += " til ";
        escapeInto(out_, end.empty() ? std::string_view("videre") : end);
        out_ += '.';
      }
    }
    if (const fhir::JsonValue* e = detail::extensionOf(plan_, ip::kNextRevisionUrl)) {
      out_ += " Neste revisjon: ";
      escapeInto(out_, textOf(e, "valueDate"));
      out_ += '.';
    }
    out_ += "</p>";
    if (const fhir::JsonValue* e =
            detail::extensionOf(plan_, "http://planbro.no/fhir/StructureDefinition/ip-situation-description")) {
      out_ += "<h3>Situasjon</h3><p>";
      escapeInto(out_, textOf(e, "valueString"));
      out_ += "</p>";
    }
  }

  void goals() {
    std::vector<std::string> main_goals, other_goals;
    std::map<std::string, std::vector<std::string>> by_domain;
    const fhir::JsonValue* refs = plan_.find("goal");
    for (const fhir::JsonValue& ref : refs ? refs->items() : std::span<const fhir::JsonValue>{}) {
      const fhir::JsonValue* goal = resolve(&ref);
      std::string text = goal ? std::string(textOf(goal->find("description"), "text")) : std::string(textOf(&ref, "display"));
      if (text.empty()) continue;
      if (goal && detail::hasCategory(*goal, kGoalLevelSystem, "hovedmal")) {
        main_goals.push_back(std::move(text));
      } else if (const fhir::JsonValue* domain = goal ? detail::extensionOf(*goal, kLifeDomainUrl) : nullptr) {
        by_domain[conceptText(domain->find("valueCodeableConcept"), &sources_)].push_back(std::move(text));
      } else {
        other_goals.push_back(std::move(text));
      }
    }
    if (!main_goals.empty()) {
      out_ += "<h3>Hovedmål</h3>";
      for (const std::string& g : main_goals) {
        out_ += "<p>";
        escapeInto(out_, g);
        out_ += "</p>";
      }
    }
    if (!by_domain.empty()) {
      out_ += "<h3>Mål etter livsområde</h3><ul>";
      for (const auto& [domain, texts] : by_domain) {
        for (const std::string& t : texts) {
          out_ += "<li><b>";
          escapeInto(out_, domain.empty() ? std::string_view("Livsområde") : std::string_view(domain));
          out_ += ":</b> ";
          escapeInto(out_, t);
          out_ += "</li>";
        }
      }
      out_ += "</ul>";
    }
    if (!other_goals.empty()) {
      out_ += "<h3>Andre mål</h3><ul>";
      for (const std::string& g : other_goals) {
        out_ += "<li>";
        escapeInto(out_, g);
        out_ += "</li>";
      }
      out_ += "</ul>";
    }
  }

  void measures() {
    const fhir::JsonValue* activities = plan_.find("activity");
    std::string rows;
    for (const fhir::JsonValue& a : activities ? activities->items() : std::span<const fhir::JsonValue>{}) {
      // GW-21: a measure not in the plan is not shown.
      const fhir::JsonValue* in_plan = detail::extensionOf(a, ip::kInPlanUrl);
      const fhir::JsonValue* flag = in_plan ? in_plan->find("valueBoolean") : nullptr;
      if (flag && flag->isBool() && !flag->boolean()) continue;
      const fhir::JsonValue* d = a.find("detail");
      if (!d) continue;
      std::string name = conceptText(d->find("code"), &sources_);
      std::string responsible;
      const fhir::JsonValue* performers = d->find("performer");
      for (const fhir::JsonValue& p : performers ? performers->items() : std::span<const fhir::JsonValue>{}) {
        std::string n = nameOf(&p);
        if (n.empty()) continue;
        if (!responsible.empty()) responsible += ", ";
        responsible += n;
      }
      const fhir::JsonValue* status = detail::extensionOf(*d, ip::kMeasureStatusUrl);
      std::string_view status_code = textOf(status ? status->find("valueCoding") : nullptr, "code");
      const fhir::JsonValue* evaluation = detail::extensionOf(*d, ip::kEvaluationDateUrl);
      std::string domain;
      if (const fhir::JsonValue* e = detail::extensionOf(a, kLifeDomainUrl)) domain = conceptText(e->find("valueCodeableConcept"), &sources_);
      rows += "<tr><td>";
      escapeInto(rows, name.empty() ? std::string("(uten navn)") : name);
      if (std::string_view content = textOf(d, "description"); !content.empty()) {
        rows += "<br/>";
        escapeInto(rows, content);
      }
      rows += "</td><td>";
      escapeInto(rows, domain);
      rows += "</td><td>";
      escapeInto(rows, responsible.empty() ? std::string("ikke avklart") : responsible);
      rows += "</td><td>";
      escapeInto(rows, status_code.empty() ? textOf(d, "status") : measureStatusLabel(status_code));
      rows += "</td><td>";
      escapeInto(rows, textOf(evaluation, "valueDate"));
      rows += "</td></tr>";
    }
    if (rows.empty()) return;
    out_ += "<h3>Tiltak</h3><table><thead><tr><th>Tiltak</th><th>Livsområde</th><th>Ansvarlig</th><th>Status</th>"
            "<th>Neste evaluering</th></tr></thead><tbody>";
    out_ += rows;
    out_ += "</tbody></table>";
  }

  void people() {
    std::string coordinators, contacts;
    const fhir::JsonValue* teams = plan_.find("careTeam");
    for (const fhir::JsonValue& team_ref : teams ? teams->items() : std::span<const fhir::JsonValue>{}) {
      const fhir::JsonValue* team = resolve(&team_ref);
      const fhir::JsonValue* participants = team ? team->find("participant") : nullptr;
      for (const fhir::JsonValue& p : participants ? participants->items() : std::span<const fhir::JsonValue>{}) {
        const fhir::JsonValue* period = p.find("period");
        std::string_view end = textOf(period, "end");
        if (!end.empty()) {
          auto end_day = detail::firstDay(end);
          if (end_day && end.size() >= 10 && *end_day < sources_.today) continue;  // no longer on the team
        }
        std::string name = nameOf(p.find("member"));
        std::string telecom = telecomOf(p.find("member"));
        std::string line;
        escapeInto(line, name.empty() ? std::string("(ukjent)") : name);
        if (!telecom.empty()) {
          line += ", ";
          escapeInto(line, telecom);
        }
        if (detail::isCurrentCoordinator(p, sources_.today)) {
          coordinators += "<p>" + line + "</p>";
        } else {
          std::string role = rolesText(p.find("role"), &sources_);
          contacts += "<li>";
          if (!role.empty()) contacts += "<b>" + escaped(role) + ":</b> ";
          contacts += line + "</li>";
        }
      }
    }
    out_ += "<h3>Koordinator</h3>";
    out_ += coordinators.empty() ? std::string("<p>Ingen koordinator er registrert.</p>") : coordinators;
    if (!contacts.empty()) out_ += "<h3>Kontaktliste</h3><ul>" + contacts + "</ul>";
  }

  void crisisPlan() {
    const fhir::JsonValue* infos = plan_.find("supportingInfo");
    std::string links;
    for (const fhir::JsonValue& info : infos ? infos->items() : std::span<const fhir::JsonValue>{}) {
      const fhir::JsonValue* kind = detail::extensionOf(info, kLinkKindUrl);
      if (textOf(kind ? kind->find("valueCoding") : nullptr, "code") != "kriseplan") continue;
      std::string_view reference = textOf(&info, "reference");
      std::string label = "Kriseplan";
      if (const fhir::JsonValue* target = resolve(&info)) {
        if (std::string_view t = textOf(target, "title"); !t.empty()) label = t;
      } else if (std::string_view d = textOf(&info, "display"); !d.empty()) {
        label = d;
      }
      links += "<li>";
      // Only a relative reference becomes a link: an absolute one could be any scheme (javascript:).
      if (detail::splitReference(reference)) {
        links += "<a href=\"" + escaped(reference) + "\">" + escaped(label) + "</a>";
      } else {
        links += escaped(label);
      }
      links += "</li>";
    }
    out_ += "<h3>Kriseplan</h3>";
    out_ += links.empty() ? std::string("<p>Ingen kriseplan er knyttet til planen.</p>") : "<ul>" + links + "</ul>";
  }

  const fhir::JsonValue& plan_;
  const NarrativeSources& sources_;
  std::string out_;
};

}  // namespace

bool isIpCarePlan(const fhir::JsonValue& resource) {
  return textOf(&resource, "resourceType") == "CarePlan" &&
         detail::hasCategory(resource, ip::kIpCategorySystem, "individuell-plan");
}

std::string planNarrativeXhtml(const fhir::JsonValue& plan, const NarrativeSources& sources) {
  return Builder(plan, sources).build();
}

}  // namespace planbro::gateway::ip
