# ft.bash - bash completion for ftindex, ftsearch and ftbench.
#
# Install as bash-completion/completions/ftindex with links named ftsearch and
# ftbench (`make install` does), or source it from ~/.bashrc.  It needs only
# bash's own compgen, not the bash-completion package.  Subcommands and
# options follow each tool's --help; index directories complete to
# directories, inputs to files and directories.

_ft_langs="none arabic armenian basque catalan danish dutch english finnish french german
    greek hindi hungarian indonesian irish italian lithuanian nepali norwegian porter
    portuguese romanian russian serbian spanish swedish tamil turkish yiddish"

# COMPREPLY from a word list, or from the file system: _ft_reply words|dirs|files [LIST]
_ft_reply()
{
    local cur=${COMP_WORDS[COMP_CWORD]} IFS=$'\n'
    case $1 in
    words) IFS=$' \t\n'; COMPREPLY=($(compgen -W "$2" -- "$cur")) ;;
    dirs) COMPREPLY=($(compgen -d -- "$cur")) ;;
    files) COMPREPLY=($(compgen -f -- "$cur")) ;;
    esac
    [[ $1 != words ]] && compopt -o filenames 2>/dev/null
    return 0
}

_ft_complete()
{
    local cmd=${1##*/} cur=${COMP_WORDS[COMP_CWORD]} prev=""
    ((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
    COMPREPLY=()
    local sub="" i
    for ((i = 1; i < COMP_CWORD; i++)); do
        case ${COMP_WORDS[i]} in -*) ;; *) sub=${COMP_WORDS[i]}; break ;; esac
    done

    case $cmd in
    ftindex)
        case $prev in
        -o | --output | -i | --index) _ft_reply dirs; return ;;
        --lang) _ft_reply words "$_ft_langs"; return ;;
        --fields | --memory | -j | --jobs | --max-segments) return ;;
        esac
        if [[ -z $sub ]]; then
            if [[ $cur == -* ]]; then _ft_reply words "--help --version"
            else _ft_reply words "build add delete merge check stats dump"; fi
            return
        fi
        local opts=""
        case $sub in
        build) opts="-o --output --lang --stopwords --fields --memory -j --jobs -q --quiet" ;;
        add) opts="-i --index --memory --fields -q --quiet" ;;
        delete | check | dump) opts="-i --index" ;;
        merge) opts="-i --index --max-segments" ;;
        stats) opts="-i --index --json" ;;
        esac
        opts="$opts --help"
        if [[ $cur == -* ]]; then _ft_reply words "$opts"
        elif [[ $sub == build || $sub == add ]]; then _ft_reply files
        fi
        ;;
    ftsearch)
        # bash splits --color=WHEN into "--color" "=" "WHEN"
        if [[ $cur == = && $prev == --colo*r ]]; then
            COMPREPLY=(always never auto)
            return
        elif [[ $prev == = && ${COMP_WORDS[COMP_CWORD - 2]} == --colo*r ]]; then
            _ft_reply words "always never auto"
            return
        fi
        case $prev in
        -i | --index) _ft_reply dirs; return ;;
        --queries) _ft_reply files; return ;;
        --format) _ft_reply words "trec"; return ;;
        -k | --k1 | --b | --snippet-len) return ;;
        esac
        case $cur in
        --color=* | --colour=*)
            local IFS=$' \t\n'
            COMPREPLY=($(compgen -P "${cur%%=*}=" -W "always never auto" -- "${cur#*=}"))
            ;;
        -*)
            _ft_reply words "-i --index -k --all --json --k1 --b --no-snippet --snippet-len
                --explain --count --exhaustive --plain --color --color= --queries --format
                -h --help -V --version"
            ;;
        esac
        ;;
    ftbench)
        case $prev in
        -o | --output | -i | --index) _ft_reply dirs; return ;;
        --run | --queries | --qrels) _ft_reply files; return ;;
        --mode) _ft_reply words "any all phrase as-written"; return ;;
        --lang) _ft_reply words "$_ft_langs"; return ;;
        --memory | -j | -k | --repeat | --warmup | --k1 | --b) return ;;
        esac
        if [[ -z $sub ]]; then
            if [[ $cur == -* ]]; then _ft_reply words "--help --version"
            else _ft_reply words "index query eval codec"; fi
            return
        fi
        local opts=""
        case $sub in
        index) opts="-o --output --memory -j --lang --json -q --quiet" ;;
        query) opts="-i --index --mode -k -j --repeat --warmup --no-cold --run --json -q --quiet" ;;
        eval) opts="-i --index --queries --qrels --run -k --mode --k1 --b --per-query --json" ;;
        codec) opts="-i --index --repeat -q --quiet" ;;
        esac
        if [[ $cur == -* ]]; then _ft_reply words "$opts --help"
        elif [[ $sub == index || $sub == query ]]; then _ft_reply files
        fi
        ;;
    esac
    return 0
}

complete -F _ft_complete ftindex ftsearch ftbench
