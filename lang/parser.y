/* parser.y — grammar of the .nn language.
 * Consumes: tokens from lexer.l. Produces: the AST of ast.h, each action one constructor call.
 * Syntax errors are reported with their location and the parser resynchronises at the next
 * ';' or '}', so one run reports several. docs/language.md gives this grammar in EBNF. */
%define api.pure full
%define parse.error detailed
%locations
%param {ParseCtx *ctx}
%lex-param {void *scanner}
%parse-param {void *scanner}
%initial-action { @$.first_line = @$.last_line = 1; @$.first_column = @$.last_column = 1; }

%code requires {
#include "ast.h"
}

%code provides {
int yylex(YYSTYPE *lval, YYLTYPE *lloc, ParseCtx *ctx, void *scanner);
}

%code {
#include <string.h>

static SrcLoc loc_of(YYLTYPE l) {
  SrcLoc s = {l.first_line, l.first_column};
  return s;
}
/* Bison says "memory exhausted" when its stack reaches YYMAXDEPTH (10000 states): a
 * source nested that deep (f(f(f(...)))), which no network needs; said as such. */
static void yyerror(YYLTYPE *l, ParseCtx *ctx, void *scanner, const char *msg) {
  (void)scanner;
  if (strcmp(msg, "memory exhausted") == 0)
    diag_error(ctx->diag, loc_of(*l), "nested too deep: calls inside calls, f(g(...)), may go about 5000 deep");
  else
    diag_error(ctx->diag, loc_of(*l), "%s", msg);
}
}

%union {
  long long integer;
  double real;
  const char *text;
  AstValue *value;
  AstTerm *term;
  AstDecl *decl;
  AstSetting *setting;
  AstNetwork *network;
}

%token KW_NETWORK "'network'" KW_INPUT "'input'" KW_BIAS "'bias'" KW_LAYER "'layer'"
%token KW_NEURON "'neuron'" KW_OUTPUT "'output'" KW_TRAIN "'train'" KW_FIXED "'fixed'"
%token <text> IDENT "identifier" STRING "string"
%token <integer> INTEGER "integer"
%token <real> REAL "number"
%token ARROW "'<-'" DOTDOT "'..'"

%type <network> network network_head
%type <decl> decl neuron_sum
%type <value> size_opt activation number signed_number value values call_args call_arg_list index_opt
%type <value> literal numbers rows
%type <term> sum term first_term weighted
%type <setting> settings setting decl_options

%%

/* file = { network } ;  (a file without a network is reported by ast_parse) */
file
  : %empty
  | file network                { ast_file_add_network(ctx, $2); }
  ;

/* network = "network" IDENT "{" { item } "}" ; */
network
  : network_head '{' items '}'  { $$ = $1; }
  ;

network_head
  : KW_NETWORK IDENT            { $$ = ast_network(ctx, loc_of(@2), $2); ctx->current = $$; }
  ;

/* item = decl ";" | neuron_sum ";" | "train" "{" { setting } "}" ; */
items
  : %empty
  | items decl ';'              { ast_network_add_decl(ctx->current, $2); }
  | items KW_TRAIN '{' settings '}' { ast_network_add_train(ctx, ctx->current, loc_of(@2), $4); }
  | items neuron_sum ';'        { ast_network_add_decl(ctx->current, $2); }
  | items error ';'
  | items error '}'
  ;

/* decl = "input" IDENT [ size ]
 *      | "bias" IDENT
 *      | "layer" IDENT [ size ] activation { option } [ "<-" sum ]
 *      | "neuron" IDENT activation { option } [ "<-" sum ]
 *      | "output" IDENT [ size ] activation { option } [ "<-" sum ] ;
 * option = IDENT value ;  (`init he`, `bias_init 0`: checked by sema) */
decl
  : KW_INPUT IDENT size_opt     { $$ = ast_decl(ctx, DECL_INPUT, loc_of(@1), $2, loc_of(@2), $3, NULL); }
  | KW_BIAS IDENT               { $$ = ast_decl(ctx, DECL_BIAS, loc_of(@1), $2, loc_of(@2), NULL, NULL); }
  | KW_LAYER IDENT size_opt activation decl_options  { $$ = ast_decl_options(ast_decl(ctx, DECL_LAYER, loc_of(@1), $2, loc_of(@2), $3, $4), $5); }
  | KW_LAYER IDENT size_opt activation decl_options ARROW sum { $$ = ast_decl_sum(ast_decl_options(ast_decl(ctx, DECL_LAYER, loc_of(@1), $2, loc_of(@2), $3, $4), $5), $7); }
  | KW_NEURON IDENT activation decl_options          { $$ = ast_decl_options(ast_decl(ctx, DECL_NEURON, loc_of(@1), $2, loc_of(@2), NULL, $3), $4); }
  | KW_NEURON IDENT activation decl_options ARROW sum { $$ = ast_decl_sum(ast_decl_options(ast_decl(ctx, DECL_NEURON, loc_of(@1), $2, loc_of(@2), NULL, $3), $4), $6); }
  | KW_OUTPUT IDENT size_opt activation decl_options { $$ = ast_decl_options(ast_decl(ctx, DECL_OUTPUT, loc_of(@1), $2, loc_of(@2), $3, $4), $5); }
  | KW_OUTPUT IDENT size_opt activation decl_options ARROW sum { $$ = ast_decl_sum(ast_decl_options(ast_decl(ctx, DECL_OUTPUT, loc_of(@1), $2, loc_of(@2), $3, $4), $5), $7); }
  ;

decl_options
  : %empty                      { $$ = NULL; }
  | decl_options IDENT value    { $$ = ast_setting_append($1, ast_setting(ctx, loc_of(@2), $2, $3)); }
  ;

/* neuron_sum = IDENT "[" INTEGER "]" "<-" sum ;  (the incoming sum of one neuron of a group) */
neuron_sum
  : IDENT '[' INTEGER ']' ARROW sum { $$ = ast_decl_sum(ast_neuron_sum(ctx, loc_of(@1), $1, ast_value_int(ctx, loc_of(@3), $3)), $6); }
  ;

/* size = "[" INTEGER "]" ; */
size_opt
  : %empty                      { $$ = NULL; }
  | '[' INTEGER ']'             { $$ = ast_value_int(ctx, loc_of(@2), $2); }
  ;

/* activation = IDENT [ "(" [ value { "," value } ] ")" ] ; */
activation
  : IDENT                       { $$ = ast_value_text(ctx, VAL_IDENT, loc_of(@1), $1); }
  | IDENT '(' call_args ')'     { $$ = ast_value_call(ctx, loc_of(@1), $1, $3); }
  ;

/* sum = [ "-" ] term { ( "+" | "-" ) term } ; */
sum
  : first_term                  { $$ = $1; }
  | sum '+' term                { $$ = ast_term_append($1, $3); }
  | sum '-' term                { $$ = ast_term_append($1, ast_term_negate($3)); }
  ;

first_term
  : term                        { $$ = $1; }
  | '-' term                    { $$ = ast_term_negate($2); }
  ;

/* term = [ "fixed" ] weighted ; */
term
  : weighted                    { $$ = $1; }
  | KW_FIXED weighted           { $$ = ast_term_fixed($2, loc_of(@1)); }
  ;

/* weighted = ( number | literal ) [ "*" ref ] | ref ;  ref = IDENT [ "[" INTEGER "]" ] ; */
weighted
  : number                          { $$ = ast_term(ctx, loc_of(@1), $1, NULL, loc_of(@1), NULL); }
  | number '*' IDENT index_opt      { $$ = ast_term(ctx, loc_of(@1), $1, $3, loc_of(@3), $4); }
  | literal                         { $$ = ast_term(ctx, loc_of(@1), $1, NULL, loc_of(@1), NULL); }
  | literal '*' IDENT index_opt     { $$ = ast_term(ctx, loc_of(@1), $1, $3, loc_of(@3), $4); }
  | IDENT index_opt                 { $$ = ast_term(ctx, loc_of(@1), NULL, $1, loc_of(@1), $2); }
  ;

/* literal = "[" signed_number { "," signed_number } "]"        a vector
 *         | "[" vector { "," vector } "]" ;                     a matrix, one vector a row */
literal
  : '[' numbers ']'             { $$ = ast_value_list(ctx, loc_of(@1), $2); }
  | '[' rows ']'                { $$ = ast_value_list(ctx, loc_of(@1), $2); }
  ;

numbers
  : signed_number               { $$ = $1; }
  | numbers ',' signed_number   { $$ = ast_value_append($1, $3); }
  ;

rows
  : '[' numbers ']'             { $$ = ast_value_list(ctx, loc_of(@1), $2); }
  | rows ',' '[' numbers ']'    { $$ = ast_value_append($1, ast_value_list(ctx, loc_of(@3), $4)); }
  ;

index_opt
  : %empty                      { $$ = NULL; }
  | '[' INTEGER ']'             { $$ = ast_value_int(ctx, loc_of(@2), $2); }
  ;

number
  : INTEGER                     { $$ = ast_value_int(ctx, loc_of(@1), $1); }
  | REAL                        { $$ = ast_value_real(ctx, loc_of(@1), $1); }
  ;

signed_number
  : number                      { $$ = $1; }
  | '-' number                  { $$ = ast_value_negate($2, loc_of(@1)); }
  ;

/* setting = IDENT { value [ "," ] } ";" ; */
settings
  : %empty                      { $$ = NULL; }
  | settings setting            { $$ = ast_setting_append($1, $2); }
  | settings error ';'          { $$ = $1; }
  ;

setting
  : IDENT values ';'            { $$ = ast_setting(ctx, loc_of(@1), $1, $2); }
  ;

values
  : %empty                      { $$ = NULL; }
  | values value                { $$ = ast_value_append($1, $2); }
  | values ',' value            { $$ = ast_value_append($1, $3); }
  ;

/* value = signed_number | number ".." number | number "/" number | STRING | IDENT
 *       | IDENT "(" [ value { "," value } ] ")" ; */
value
  : signed_number               { $$ = $1; }
  | INTEGER DOTDOT INTEGER      { $$ = ast_value_range(ctx, loc_of(@1), ast_value_int(ctx, loc_of(@1), $1), ast_value_int(ctx, loc_of(@3), $3)); }
  | number '/' number           { $$ = ast_value_ratio(ctx, loc_of(@1), $1, $3); }
  | STRING                      { $$ = ast_value_text(ctx, VAL_STRING, loc_of(@1), $1); }
  | IDENT                       { $$ = ast_value_text(ctx, VAL_IDENT, loc_of(@1), $1); }
  | IDENT '(' call_args ')'     { $$ = ast_value_call(ctx, loc_of(@1), $1, $3); }
  ;

call_args
  : %empty                      { $$ = NULL; }
  | call_arg_list               { $$ = $1; }
  ;

call_arg_list
  : value                       { $$ = $1; }
  | call_arg_list ',' value     { $$ = ast_value_append($1, $3); }
  ;

%%
