#pragma once
// Runs the built `planbro` binary (PLANBRO_CLI_BINARY) for the CLI tests: one command to completion with files
// for stdin, stdout and stderr, or `planbro serve` until it logs a line (then SIGTERM), read through a pipe.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

extern char** environ;

namespace planbro::gateway::cli {

namespace fs = std::filesystem;

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

inline std::string readFile(const fs::path& path) {
  std::ifstream file(path, std::ios::binary);
  std::stringstream buffer;
  buffer << file.rdbuf();
  return buffer.str();
}

inline void writeFile(const fs::path& path, std::string_view bytes) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

class PlanbroCli : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string templ = (fs::temp_directory_path() / "planbro-cli-XXXXXX").string();
    ASSERT_NE(::mkdtemp(templ.data()), nullptr);
    dir_ = templ;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  fs::path file(std::string_view name, std::string_view bytes) {
    fs::path path = dir_ / name;
    writeFile(path, bytes);
    return path;
  }

  // Runs the binary with stdin from `stdin_bytes`; stdout and stderr go to files, so no pipe can fill up.
  RunResult run(const std::vector<std::string>& args, std::string_view stdin_bytes = {}) {
    const fs::path in = file("stdin.bin", stdin_bytes);
    const fs::path out = dir_ / "stdout.txt";
    const fs::path err = dir_ / "stderr.txt";
    std::vector<std::string> argv_strings = {PLANBRO_CLI_BINARY};
    argv_strings.insert(argv_strings.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_strings) argv.push_back(a.data());
    argv.push_back(nullptr);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, in.c_str(), O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&actions, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    pid_t pid = 0;
    RunResult result;
    const int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) {
      ADD_FAILURE() << "cannot start " << PLANBRO_CLI_BINARY;
      return result;
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0) {
      if (errno != EINTR) break;
    }
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    result.out = readFile(out);
    result.err = readFile(err);
    return result;
  }

  // Output of `planbro serve ARGS`: everything it wrote to stdout and stderr until it logged a line containing
  // `until` (then it got SIGTERM) or exited. Bounded: stops waiting after kServeDeadlineMs without output.
  struct ServeResult {
    int exit_code = -1;
    bool saw_line = false;
    std::string log;
  };
  static constexpr int kServeDeadlineMs = 120000;

  ServeResult serve(const std::vector<std::string>& args, std::string_view until = "listening on") {
    ServeResult result;
    int fds[2];
    if (::pipe(fds) != 0) {
      ADD_FAILURE() << "pipe";
      return result;
    }
    std::vector<std::string> argv_strings = {PLANBRO_CLI_BINARY, "serve"};
    argv_strings.insert(argv_strings.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_strings) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
    posix_spawn_file_actions_adddup2(&actions, fds[1], 2);
    posix_spawn_file_actions_addclose(&actions, fds[0]);
    pid_t pid = 0;
    const int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(fds[1]);
    if (rc != 0) {
      ::close(fds[0]);
      ADD_FAILURE() << "cannot start " << PLANBRO_CLI_BINARY;
      return result;
    }
    bool signalled = false;
    for (int guard = 0; guard < 100000; ++guard) {
      pollfd p{fds[0], POLLIN, 0};
      const int ready = ::poll(&p, 1, kServeDeadlineMs);
      if (ready < 0 && errno == EINTR) continue;
      if (ready <= 0) {
        ADD_FAILURE() << "planbro serve wrote nothing for " << kServeDeadlineMs << " ms; log so far:\n" << result.log;
        break;
      }
      char buffer[4096];
      const ssize_t n = ::read(fds[0], buffer, sizeof buffer);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;  // the server exited (every writer closed)
      result.log.append(buffer, static_cast<size_t>(n));
      if (!signalled && result.log.find(until) != std::string::npos) {
        result.saw_line = true;
        signalled = true;
        ::kill(pid, SIGTERM);
      }
    }
    if (!signalled) ::kill(pid, SIGTERM);
    ::close(fds[0]);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0) {
      if (errno != EINTR) break;
    }
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return result;
  }

  fs::path dir_;
};

}  // namespace planbro::gateway::cli
