// planbro: the command-line entry point. All logic lives in planbro_cli (gateway/src/cli/).
#include <iostream>

#include "planbro/gateway/cli.h"

int main(int argc, char** argv) { return planbro::gateway::cli::runCli(argc, argv, std::cin, std::cout, std::cerr); }
